"""Rendered projects install, lint, type-check, pass their own tests and run (layer 3, slow).

Each combination from answer_space.installed_combinations() is rendered once per module
and installed with the project's own `uv sync` into its own .venv; the checks then run the
commands the generated README documents, in that project, exactly as a user would. uv's cache is the
caller's (UV_CACHE_DIR is inherited), so only the first run downloads anything.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import answer_space
import pytest
import yaml
from backstage_validator import validate_entities
from required_tools import require_uv
from template_fixtures import render

pytestmark = pytest.mark.slow

COMBINATIONS = answer_space.installed_combinations()
COMBINATION_IDS = [answer_space.combination_id(c) for c in COMBINATIONS]

# Generous bounds that only stop a hung process: a warm `uv sync` takes seconds.
SYNC_TIMEOUT_S = 900
COMMAND_TIMEOUT_S = 600
OUTPUT_TAIL_LINES = 60

# The generated project's toolchain, as its README and CI run it.
PROJECT_CHECKS = {
    "ruff-check": ("ruff", "check"),
    "ruff-format": ("ruff", "format", "--check"),
    "mypy": ("mypy",),
    "pytest": ("pytest", "-q", "-p", "no:cacheprovider"),
}

# Variables of the caller's environment that would point the project at someone else's
# virtual environment, Python path, pipeline config or telemetry collector.
_FOREIGN_ENV_PREFIXES = ("PIPELINE_", "OTEL_")
_FOREIGN_ENV_KEYS = {"UV_PROJECT_ENVIRONMENT", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}


def project_env() -> dict[str, str]:
    """The caller's environment minus what belongs to the caller's project.

    UV_CACHE_DIR and the rest of uv's settings stay, so the cache is shared;
    UV_PROJECT_ENVIRONMENT goes, so uv creates the project's own .venv.
    """
    return {
        key: value
        for key, value in os.environ.items()
        if key not in _FOREIGN_ENV_KEYS and not key.startswith(_FOREIGN_ENV_PREFIXES)
    }


def tail(text: str, lines: int = OUTPUT_TAIL_LINES) -> str:
    """The last `lines` lines of `text`, where a failing tool says what went wrong."""
    return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class RenderedProject:
    """A rendered and installed project, and a way to run commands in it."""

    root: Path
    answers: dict[str, Any]
    uv: str
    # Left out of the repr: failure reports must not print the caller's environment.
    env: dict[str, str] = field(repr=False)

    def run(
        self, *args: str, timeout: float = COMMAND_TIMEOUT_S
    ) -> subprocess.CompletedProcess[str]:
        """Run `args` in the project root with the project's environment."""
        return subprocess.run(
            list(args),
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def uv_run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`uv run ARGS` in the project, failing the test with the output tail on error."""
        result = self.run(self.uv, "run", *args)
        if result.returncode != 0:
            output = tail(result.stdout + result.stderr)
            pytest.fail(f"`uv run {' '.join(args)}` exited {result.returncode}:\n{output}")
        return result


@pytest.fixture(scope="module", params=COMBINATIONS, ids=COMBINATION_IDS)
def rendered_root(
    request: pytest.FixtureRequest,
    template_repo: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """One combination rendered, not yet installed, shared by this module."""
    combination: dict[str, str] = request.param
    return render(template_repo, tmp_path_factory.mktemp("project") / "project", combination)


@pytest.fixture(scope="module")
def project(rendered_root: Path) -> RenderedProject:
    """The rendered project installed with its own `uv sync`, shared by this module."""
    uv = require_uv()
    answers_file = rendered_root / ".copier-answers.yml"
    answers = yaml.safe_load(answers_file.read_text(encoding="utf-8"))
    installed = RenderedProject(rendered_root, answers, uv, project_env())
    sync = installed.run(uv, "sync", timeout=SYNC_TIMEOUT_S)
    if sync.returncode != 0:
        pytest.fail(f"`uv sync` exited {sync.returncode}:\n{tail(sync.stdout + sync.stderr)}")
    return installed


def test_uv_sync_installs_into_the_projects_own_virtual_environment(
    project: RenderedProject,
) -> None:
    venv = project.root / ".venv"
    assert (venv / "pyvenv.cfg").is_file()
    result = project.uv_run("python", "-c", "import sys; print(sys.prefix)")
    assert Path(result.stdout.strip()).resolve() == venv.resolve()


@pytest.mark.parametrize("command", PROJECT_CHECKS.values(), ids=PROJECT_CHECKS.keys())
def test_project_passes_its_own_check(project: RenderedProject, command: tuple[str, ...]) -> None:
    project.uv_run(*command)


def run_json(project: RenderedProject, *command: str) -> dict[str, Any]:
    """Run a `run --json` command in the project and return its one JSON object."""
    result = project.uv_run(*command)
    try:
        payload: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"`{' '.join(command)}` did not print one JSON object:\n{tail(result.stdout)}")
    return payload


def assert_counts_conserved(payload: dict[str, Any]) -> None:
    """A successful run whose counts satisfy read = written + quarantined + filtered."""
    assert payload["status"] == "succeeded", payload
    counts = payload["counts"]
    assert counts["read"] == counts["written"] + counts["quarantined"] + counts["filtered"]
    assert counts["quarantined"] > 0, "the bundled sample must exercise the quarantine"
    assert counts["written"] > 0


def test_readme_command_runs_the_sample_and_conserves_every_row(
    project: RenderedProject,
) -> None:
    readme = (project.root / "README.md").read_text(encoding="utf-8")
    assert "uv run python -m src.cli run --json" in readme
    assert_counts_conserved(run_json(project, "python", "-m", "src.cli", "run", "--json"))


def test_console_script_named_after_the_slug_runs_the_pipeline(
    project: RenderedProject,
) -> None:
    slug = project.answers["project_slug"]
    assert f"uv run {slug} run" in (project.root / "README.md").read_text(encoding="utf-8")
    assert_counts_conserved(run_json(project, slug, "run", "--json"))


def test_catalog_info_is_accepted_by_backstages_validators(rendered_root: Path) -> None:
    code, output = validate_entities([rendered_root / "catalog-info.yaml"])
    assert code == 0, output
