"""Real storage faults under a rendered pipeline: a full disk, a read-only mount and denied
access, on the destination, the runs folder and the source. Each is a transient (75) or
configuration (78) error naming the path, never a data error (65) or a traceback, and a run
that starts leaves a manifest (or, when the runs folder itself fails, logs it).

The faults are real: small or read-only tmpfs mounts, and a run without the capabilities
that let root ignore file permissions. Making them needs root (CI runs as root); elsewhere
the test is skipped, and in CI a missing privilege is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from installed_project import RenderedProject, tail

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("engine_parity"), pytest.mark.cost(40)]

TRANSIENT, CONFIGURATION = 75, 78
# Capabilities that let root read and write whatever the permission bits say.
DAC_CAPABILITIES = "-dac_override,-dac_read_search"


def require_root() -> None:
    """Mounting and dropping capabilities need root: skip elsewhere, fail in CI."""
    if os.geteuid() == 0 and shutil.which("mount") and shutil.which("setpriv"):
        return
    reason = "storage faults need root, mount(8) and setpriv(1) to make real ones"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@contextmanager
def tmpfs(path: Path, *, size_kib: int = 1024, read_only: bool = False) -> Iterator[Path]:
    """A tmpfs of `size_kib` at `path` (made read-only after creating it), unmounted after."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(path)], check=True
    )
    try:
        if read_only:
            subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


@dataclass(frozen=True)
class Run:
    """What a failed run left: its exit code, its JSON report, its stderr and the runs folder."""

    returncode: int
    report: dict[str, Any]
    stderr: str
    runs_dir: Path

    def manifests(self) -> list[dict[str, Any]]:
        """The manifests in the runs folder."""
        return [
            json.loads(path.read_text(encoding="utf-8"))
            for path in sorted(self.runs_dir.glob("*/manifest.json"))
        ]


def run_pipeline(
    project: RenderedProject,
    *,
    source: Path,
    destination: Path,
    runs_dir: Path,
    without_dac: bool = False,
) -> Run:
    """`python -m src.cli run --json` on `source` into `destination`, optionally without the
    capabilities that let root ignore permissions."""
    env = {
        **project.env,
        "PIPELINE_SOURCE__PATH": str(source / "*.csv"),
        "PIPELINE_DESTINATION__PATH": str(destination),
        "PIPELINE_RUNS_DIR": str(runs_dir),
    }
    command = [str(project.root / ".venv/bin/python"), "-m", "src.cli", "run", "--json"]
    if without_dac:
        command = [
            "setpriv",
            f"--inh-caps={DAC_CAPABILITIES}",
            f"--bounding-set={DAC_CAPABILITIES}",
            "--",
            *command,
        ]
    result = subprocess.run(
        command, cwd=project.root, env=env, capture_output=True, text=True, timeout=300
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"no JSON report (exit {result.returncode}):\n{tail(result.stdout + result.stderr)}"
        )
    return Run(result.returncode, report, result.stderr, runs_dir)


@pytest.fixture(scope="module")
def project(engine_projects: dict[str, RenderedProject]) -> RenderedProject:
    """The default engine's project (a local destination, local files)."""
    require_root()
    return engine_projects["polars"]


@pytest.fixture
def source(project: RenderedProject, tmp_path: Path) -> Path:
    """A folder holding the project's sample input."""
    folder = tmp_path / "input"
    folder.mkdir()
    for sample in sorted((project.root / "data" / "sample").glob("*.csv")):
        shutil.copy(sample, folder / sample.name)
    assert any(folder.iterdir()), "the project bundles no sample CSV"
    return folder


def assert_classified(run: Run, code: int, path: Path) -> None:
    """Exit `code`, the error naming `path`, and no traceback anywhere."""
    assert run.returncode == code, (run.report, tail(run.stderr))
    message = run.report["error"]["message"]
    assert str(path) in message, message
    assert "Traceback" not in run.stderr, tail(run.stderr)


def assert_failed_manifest(run: Run, code: int) -> None:
    """One manifest in the runs folder, for a failed run with the error's exit code."""
    manifests = run.manifests()
    assert len(manifests) == 1, manifests
    assert manifests[0]["status"] == "failed"
    assert manifests[0]["error"]["exit_code"] == code, manifests[0]["error"]


def test_a_full_destination_disk_is_transient_and_names_the_table(
    project: RenderedProject, source: Path, tmp_path: Path
) -> None:
    with tmpfs(tmp_path / "full", size_kib=64) as mount:
        run = run_pipeline(
            project, source=source, destination=mount / "orders", runs_dir=tmp_path / "runs"
        )
    assert_classified(run, TRANSIENT, mount / "orders")
    assert "no space left" in run.report["error"]["message"]
    assert_failed_manifest(run, TRANSIENT)


def test_a_read_only_destination_is_configuration_and_names_the_table(
    project: RenderedProject, source: Path, tmp_path: Path
) -> None:
    with tmpfs(tmp_path / "ro", read_only=True) as mount:
        run = run_pipeline(
            project, source=source, destination=mount / "orders", runs_dir=tmp_path / "runs"
        )
    assert_classified(run, CONFIGURATION, mount / "orders")
    assert_failed_manifest(run, CONFIGURATION)


def test_a_destination_the_run_may_not_write_is_configuration(
    project: RenderedProject, source: Path, tmp_path: Path
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o755)
    os.chown(locked, 65534, 65534)  # nobody's folder; root without DAC capabilities can't write
    runs_dir = tmp_path / "runs"
    run = run_pipeline(
        project, source=source, destination=locked / "orders", runs_dir=runs_dir, without_dac=True
    )
    assert_classified(run, CONFIGURATION, locked / "orders")
    assert_failed_manifest(run, CONFIGURATION)


def test_a_source_the_run_may_not_read_is_configuration_and_names_it(
    project: RenderedProject, source: Path, tmp_path: Path
) -> None:
    for sample in source.iterdir():
        sample.chmod(0o600)
        os.chown(sample, 65534, 65534)
    run = run_pipeline(
        project,
        source=source,
        destination=tmp_path / "orders",
        runs_dir=tmp_path / "runs",
        without_dac=True,
    )
    assert_classified(run, CONFIGURATION, source)
    assert_failed_manifest(run, CONFIGURATION)


@pytest.mark.parametrize(("fault", "code"), [("full", TRANSIENT), ("read-only", CONFIGURATION)])
def test_a_runs_folder_that_fails_is_named_and_the_manifest_is_logged(
    project: RenderedProject, source: Path, tmp_path: Path, fault: str, code: int
) -> None:
    options: dict[str, Any] = {"size_kib": 16} if fault == "full" else {"read_only": True}
    with tmpfs(tmp_path / "runs-mount", **options) as mount:
        run = run_pipeline(
            project, source=source, destination=tmp_path / "orders", runs_dir=mount / "runs"
        )
    assert_classified(run, code, mount / "runs")
    assert "manifest of run" in run.stderr  # logged, since it could not be written
