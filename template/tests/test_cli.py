"""The command line: doctor's verdicts, and secrets kept out of everything it prints."""

from __future__ import annotations

import pytest

from .conftest import Workspace, run_cli

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
