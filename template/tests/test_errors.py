"""Errors say what to do: every configuration problem exits 78 naming the file and line or the
variable, for every command; a bug exits 70 with its traceback, pointing at the team's own file
and line when it is in their code. Each test runs the real command line, as a user would."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import CLI_TIMEOUT_S, PROJECT_ROOT, CliResult, Workspace, run_cli

COMMANDS = {
    "run": ("run",),
    "run --json": ("run", "--json"),
    "backfill": ("backfill", "--start", "2026-10-01", "--end", "2026-10-01"),
    "doctor": ("doctor",),
}
CONFIGURATION = 78
BUG = 70


def error_message(command: str, result: CliResult) -> str:
    """What the command said about its failure: the JSON error's message for `--json` (which
    must print one JSON object), else its standard error."""
    if command == "run --json":
        error = result.json()["error"]
        assert error["exit_code"] == result.returncode
        return str(error["message"])
    return result.stderr


def run_with_config(workspace: Workspace, command: str, config: str) -> CliResult:
    """`command` reading the config file `config`, named by PIPELINE_CONFIG (a variable the
    project uses that is not a setting: it must not be refused)."""
    path = workspace.root / "pipeline.toml"
    path.write_text(config)
    return run_cli(*COMMANDS[command], env=workspace.env(PIPELINE_CONFIG=str(path)))


@pytest.mark.parametrize("command", COMMANDS)
def test_a_toml_syntax_error_names_the_file_and_line(workspace: Workspace, command: str) -> None:
    result = run_with_config(workspace, command, 'log_level = "INFO"\nruns_dir = "data/runs\n')

    assert result.returncode == CONFIGURATION, result.stderr
    message = error_message(command, result)
    assert f"{workspace.root / 'pipeline.toml'}:2:" in message
    assert "not valid TOML" in message and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unknown_key_says_which_key_was_meant(workspace: Workspace, command: str) -> None:
    result = run_with_config(workspace, command, 'runs_dir = "data/runs"\nlog_levle = "INFO"\n')

    assert result.returncode == CONFIGURATION, result.stderr
    assert (
        "pipeline.toml:2: unknown key 'log_levle' at the top level: did you mean 'log_level'?"
        in error_message(command, result)
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unknown_key_near_no_valid_one_lists_the_valid_keys(
    workspace: Workspace, command: str
) -> None:
    result = run_with_config(workspace, command, "[source]\nzzz_qqq = 1\n")

    assert result.returncode == CONFIGURATION, result.stderr
    message = error_message(command, result)
    assert "pipeline.toml:2: unknown key 'zzz_qqq' in [source]: valid keys in [source]:" in message
    assert "did you mean" not in message


@pytest.mark.parametrize("command", COMMANDS)
def test_a_value_of_the_wrong_type_names_key_value_and_expectation(
    workspace: Workspace, command: str
) -> None:
    result = run_with_config(workspace, command, "log_level = 3\n")

    assert result.returncode == CONFIGURATION, result.stderr
    message = error_message(command, result)
    assert "pipeline.toml:1: log_level = 3: Input should be 'DEBUG', 'INFO'" in message


@pytest.mark.parametrize("command", COMMANDS)
def test_a_misspelt_variable_is_refused_with_the_one_meant(
    workspace: Workspace, command: str
) -> None:
    env = workspace.env()
    [section_variable, *_] = sorted(name for name in env if name.startswith("PIPELINE_SOURCE__"))
    env.update(PIPELINE_LOG_LEVL="DEBUG", **{section_variable + "X": "x"})

    result = run_cli(*COMMANDS[command], env=env)

    assert result.returncode == CONFIGURATION, result.stderr
    message = error_message(command, result)
    assert "PIPELINE_LOG_LEVL is not a setting: did you mean PIPELINE_LOG_LEVEL?" in message
    assert f"{section_variable}X is not a setting: did you mean {section_variable}?" in message


def copy_of_the_project(workspace: Workspace) -> Path:
    """The project's code, copied so a test can break it: run from there, it is imported
    instead of the installed package."""
    root = workspace.root / "project"
    shutil.copytree(
        PROJECT_ROOT / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__")
    )
    return root


def module_of(root: Path, relative: str) -> Path:
    """`relative` (e.g. `transforms/orders.py`) in the copy's package."""
    [path] = (root / "src").glob(f"*/{relative}")
    return path


def append(path: Path, code: str, marker: str) -> int:
    """Append `code` to the module at `path`; the number of the line holding `marker`."""
    text = path.read_text() + code
    path.write_text(text)
    return next(n for n, line in enumerate(text.splitlines(), start=1) if marker in line)


def run_copy(root: Path, *args: str, env: dict[str, str]) -> CliResult:
    """`python -m src.cli ...` from the copy, importing its package."""
    completed = subprocess.run(
        [sys.executable, "-m", "src.cli", *args],
        cwd=root,
        env={**env, "PYTHONPATH": str(root / "src")},
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    return CliResult(completed.returncode, completed.stdout, completed.stderr)


def failed_manifest_error(workspace: Workspace) -> dict[str, Any]:
    """The error the run's manifest recorded."""
    [manifest] = workspace.runs_dir.glob("*/manifest.json")
    record = json.loads(manifest.read_text())
    assert record["status"] == "failed"
    error: dict[str, Any] = record["error"]
    return error


BROKEN_TRANSFORM = """

_team_transform = transform


def transform(orders):
    share = 1 / 0  # the team's bug
    return _team_transform(orders)
"""


def test_a_bug_in_a_transform_shows_the_teams_file_and_line(workspace: Workspace) -> None:
    root = copy_of_the_project(workspace)
    line = append(module_of(root, "transforms/orders.py"), BROKEN_TRANSFORM, "the team's bug")
    canary = "Authorization=Bearer canary-9d2e4f"

    result = run_copy(root, "run", env=workspace.env(OTEL_EXPORTER_OTLP_HEADERS=canary))

    assert result.returncode == BUG, result.stderr
    where = f"transforms/orders.py:{line}"
    assert "team code error: ZeroDivisionError: division by zero" in result.stderr
    assert "raised in your code at src/" in result.stderr and where in result.stderr
    assert f'transforms/orders.py", line {line}, in transform' in result.stderr  # traceback
    error = failed_manifest_error(workspace)
    assert error["class"] == "team_code" and error["exit_code"] == BUG
    assert error["where"].endswith(where)
    assert "ZeroDivisionError: division by zero" in error["traceback"]
    assert canary not in result.stdout + result.stderr + json.dumps(error)


def test_a_bug_in_a_transform_is_a_json_error_with_its_traceback(workspace: Workspace) -> None:
    root = copy_of_the_project(workspace)
    line = append(module_of(root, "transforms/orders.py"), BROKEN_TRANSFORM, "the team's bug")

    result = run_copy(root, "run", "--json", env=workspace.env())

    assert result.returncode == BUG, result.stderr
    error = result.json()["error"]
    assert error["class"] == "team_code"
    assert error["where"].endswith(f"transforms/orders.py:{line}")
    assert any(f"line {line}, in transform" in frame for frame in error["traceback"])


def test_a_rule_that_raises_shows_the_rules_file_and_line(workspace: Workspace) -> None:
    root = copy_of_the_project(workspace)
    rules = module_of(root, "validation/rules.py")
    line = append(
        rules,
        "\n\ndef _limit() -> float:\n    return 1_000_000 / 0  # the team's bug\n\n\n"
        "AMOUNT_LIMIT = _limit()\n",
        "the team's bug",
    )

    result = run_copy(root, "run", env=workspace.env())

    assert result.returncode == BUG, result.stderr
    assert f"raised in your code at src/{rules.parent.parent.name}/validation/rules.py:{line}" in (
        result.stderr
    )
    assert f'validation/rules.py", line {line}, in _limit' in result.stderr
    assert failed_manifest_error(workspace)["class"] == "team_code"


def test_a_bug_in_the_templates_code_is_internal_with_its_traceback(
    workspace: Workspace,
) -> None:
    root = copy_of_the_project(workspace)
    line = append(
        module_of(root, "composition.py"),
        "\n\ndef build_pipeline(*args, **kwargs):\n"
        "    raise KeyError('plumbing')  # the template's bug\n",
        "the template's bug",
    )

    result = run_copy(root, "run", env=workspace.env())

    assert result.returncode == BUG, result.stderr
    assert "internal error: unexpected KeyError: 'plumbing'" in result.stderr
    assert f'composition.py", line {line}, in build_pipeline' in result.stderr
    error = failed_manifest_error(workspace)
    assert error["class"] == "internal"
    assert error["where"].endswith(f"composition.py:{line}")
