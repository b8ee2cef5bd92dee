"""The command line: doctor's verdicts, and secrets kept out of everything it prints."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import PROJECT_ROOT, Workspace, run_cli

# Runs the pipeline end to end: outside the fast loop, `uv run pytest -m "not slow"`.
pytestmark = pytest.mark.slow


def test_doctor_passes_on_the_default_setup(workspace: Workspace) -> None:
    result = run_cli("doctor", env=workspace.env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "FAIL" not in result.stdout


@pytest.mark.source_files
def test_doctor_names_what_to_fix(workspace: Workspace) -> None:
    env = workspace.env(
        str(workspace.root / "missing/*.csv"),
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9",
    )
    result = run_cli("doctor", env=env)

    assert result.returncode == 78
    assert "PIPELINE_SOURCE__PATH" in result.stdout
    assert "unreachable" in result.stdout


def test_secrets_never_reach_output_logs_or_manifests(workspace: Workspace) -> None:
    canary = "Authorization=Bearer canary-5f0c1e"
    env = workspace.env(OTEL_EXPORTER_OTLP_HEADERS=canary)

    doctor = run_cli("doctor", env=env)
    run = run_cli("run", env=env)

    assert run.returncode == 0, run.stderr
    assert "canary-5f0c1e" not in doctor.stdout + doctor.stderr + run.stdout + run.stderr
    for manifest in workspace.runs_dir.glob("*/manifest.json"):
        assert "canary-5f0c1e" not in manifest.read_text()


def test_unknown_commands_are_usage_errors(workspace: Workspace) -> None:
    assert run_cli("fly", env=workspace.env()).returncode == 2


@pytest.mark.source_files
def test_error_messages_print_literally_even_with_brackets_in_paths(
    workspace: Workspace,
) -> None:
    result = run_cli("run", env=workspace.env(str(workspace.root / "in[/x]" / "*.csv")))

    assert result.returncode == 78
    assert "[source] path in pipeline.toml" in result.stderr


# What `--help` loads, printed by a fresh interpreter after the help text.
HELP_IMPORTS = """
import runpy, sys
sys.argv = ["cli", "--help"]
try:
    runpy.run_module("src.cli", run_name="__main__")
except SystemExit:
    pass
print("\\n".join(sorted(sys.modules)))
"""
# The run path: settings, telemetry, the runner and the engine come with the commands that
# use them, not with `--help`.
RUN_PATH = (".settings", ".telemetry", ".pipeline.runner", ".composition")
RUN_PATH_PACKAGES = ("pydantic", "opentelemetry.sdk", "polars", "pandas", "pyspark", "dask")


def on_run_path(module: str) -> bool:
    """Whether `module` belongs to the run path rather than the command line."""
    return module.endswith(RUN_PATH) or any(
        module == package or module.startswith(f"{package}.") for package in RUN_PATH_PACKAGES
    )


def test_help_prints_the_commands_without_importing_the_run_path() -> None:
    result = subprocess.run(
        [sys.executable, "-c", HELP_IMPORTS],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert "backfill" in result.stdout and "Check configuration" in result.stdout
    assert sorted(filter(on_run_path, result.stdout.splitlines())) == []
