"""`runs list`, `runs show` and `runs quarantine`: what they print after real runs, checked
against the manifests and quarantine files those runs wrote (never the sample's counts), and
what they say about an empty runs folder, a corrupt manifest, an interrupted or unfinished
run, a run without quarantine and run ids that name no single run."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import CliResult, Workspace, run_cli

# Runs the pipeline end to end: outside the fast loop, `uv run pytest -m "not slow"`.
pytestmark = pytest.mark.slow

BAD_ARGUMENT = 2
UNREADABLE = 65
# Run ids the tests make up for crafted runs: later than any real run's, so listed first.
INTERRUPTED_ID = "29991231T235957Z-0000000a"
QUIET_ID = "29991231T235958Z-0000000b"
UNFINISHED_ID = "29991231T235959Z-0000000c"


@dataclass(frozen=True)
class Runs:
    """A workspace after two real runs, and their manifests, oldest first."""

    workspace: Workspace
    manifests: list[dict[str, Any]]

    def cli(self, *args: str, runs_dir: Path | None = None) -> CliResult:
        """`runs ...` reading this workspace's runs folder, or `runs_dir`."""
        folder = runs_dir or self.workspace.runs_dir
        return run_cli("runs", *args, env=self.workspace.env(PIPELINE_RUNS_DIR=str(folder)))

    @property
    def newest(self) -> dict[str, Any]:
        """The manifest of the later run."""
        return self.manifests[-1]

    @property
    def quarantining(self) -> dict[str, Any]:
        """The manifest of a run that quarantined rows: an incremental source's second run
        reads nothing new, so it need not be the newest."""
        return max(self.manifests, key=lambda manifest: manifest["counts"]["quarantined"])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """Two runs of the sample, as a scheduler would leave them."""
    root = tmp_path_factory.mktemp("runs-cli")
    workspace = Workspace(root, root / "output" / "orders", root / "runs")
    manifests = []
    for _ in range(2):
        result = run_cli("run", "--json", env=workspace.env())
        assert result.returncode == 0, result.stderr
        manifests.append(json.loads(Path(result.json()["manifest"]).read_text()))
    return Runs(workspace, manifests)


def copy_run(runs: Runs, runs_dir: Path, run_id: str, **changes: Any) -> Path:
    """A copy of the real run that quarantined rows, under `run_id` in `runs_dir`, its
    manifest changed by `changes`; the folder."""
    source = runs.workspace.runs_dir / runs.quarantining["run_id"]
    folder = runs_dir / run_id
    shutil.copytree(source, folder)
    manifest = {**runs.quarantining, "run_id": run_id, **changes}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_list_shows_every_run_newest_first_with_its_manifest_counts(runs: Runs) -> None:
    listed = runs.cli("list", "--json")
    text = runs.cli("list")

    assert listed.returncode == 0 and text.returncode == 0, listed.stderr + text.stderr
    newest_first = list(reversed(runs.manifests))
    assert [run["run_id"] for run in listed.json()["runs"]] == [m["run_id"] for m in newest_first]
    for run, manifest in zip(listed.json()["runs"], newest_first, strict=True):
        assert run["status"] == manifest["status"] == "succeeded"
        assert run["counts"] == manifest["counts"]
        assert run["duration_seconds"] == manifest["duration_seconds"]
        assert run["started_at"] == manifest["started_at"]
        assert run["partition"] == manifest["partition"]
    lines = text.stdout.splitlines()
    rows = [next(line for line in lines if m["run_id"] in line) for m in newest_first]
    assert lines.index(rows[0]) < lines.index(rows[1])
    for row, manifest in zip(rows, newest_first, strict=True):
        counts = manifest["counts"]
        for name in ("read", "written", "quarantined"):
            assert f"{counts[name]:,}" in row
        assert f"{manifest['duration_seconds']:.2f} s" in row


def test_list_limit_keeps_the_newest_runs(runs: Runs) -> None:
    result = runs.cli("list", "--limit", "1", "--json")

    assert [run["run_id"] for run in result.json()["runs"]] == [runs.newest["run_id"]]


def test_show_json_prints_the_manifest_given_a_unique_prefix_of_its_id(runs: Runs) -> None:
    result = runs.cli("show", runs.newest["run_id"][:-3], "--json")

    assert result.returncode == 0, result.stderr
    assert result.json() == runs.newest


def test_show_prints_the_manifest_readably(runs: Runs) -> None:
    manifest = runs.newest
    result = runs.cli("show", manifest["run_id"])

    assert result.returncode == 0, result.stderr
    assert manifest["run_id"] in result.stdout and "succeeded" in result.stdout
    for name, count in manifest["counts"].items():
        assert any(name in line and f"{count:,}" in line for line in result.stdout.splitlines())
    for code in manifest["violations"]:
        assert code in result.stdout
    run_folder = runs.workspace.runs_dir / manifest["run_id"]
    assert f"manifest:   {run_folder / 'manifest.json'}" in result.stdout


def test_quarantine_groups_rows_by_reason_as_the_manifest_counts_them(runs: Runs) -> None:
    manifest = runs.quarantining
    result = runs.cli("quarantine", manifest["run_id"], "--json", "--limit", "3")

    assert result.returncode == 0, result.stderr
    report = result.json()
    assert report["run_id"] == manifest["run_id"]
    assert report["rows"] == manifest["counts"]["quarantined"] > 0
    by_code = {group["code"]: group["rows"] for group in report["reasons"]}
    assert by_code and sorted(by_code) == report["codes"]
    # Every quarantined row has a reason, and rows with several count under each.
    assert sum(by_code.values()) >= report["rows"]
    assert by_code == {code: manifest["violations"][code] for code in by_code}
    assert list(by_code.values()) == sorted(by_code.values(), reverse=True)
    for group in report["reasons"]:
        assert len(group["examples"]) == min(3, group["rows"])
        for row in group["examples"]:
            assert group["code"] in row["reasons"]
            assert row["source_file"] and row["source_row"] >= 1
            assert set(row["raw"]) <= set(row["values"]) or row["raw_record"] is not None


def test_quarantine_shows_each_reason_with_its_rows_source_coordinates(runs: Runs) -> None:
    manifest = runs.quarantining
    report = runs.cli("quarantine", manifest["run_id"], "--json", "--limit", "1").json()
    text = runs.cli("quarantine", manifest["run_id"], "--limit", "1").stdout

    for group in report["reasons"]:
        row = group["examples"][0]
        assert f"{group['code']}: {group['rows']:,} row(s)" in text
        assert f"{row['source_file']}:{row['source_row']}" in text
        for column, raw in row["raw"].items():
            assert f"{column}={json.dumps(raw)}" in text


def test_quarantine_reason_filters_and_limit_caps_the_rows(runs: Runs) -> None:
    manifest = runs.quarantining
    everything = runs.cli("quarantine", manifest["run_id"], "--json").json()
    code = everything["reasons"][-1]["code"]

    one = runs.cli("quarantine", manifest["run_id"], "--reason", code, "--limit", "1", "--json")
    none = runs.cli("quarantine", manifest["run_id"], "--reason", "NO_SUCH_CODE")

    assert [group["code"] for group in one.json()["reasons"]] == [code]
    assert len(one.json()["reasons"][0]["examples"]) == 1
    assert none.returncode == 0
    assert "no row has the reason NO_SUCH_CODE" in none.stdout and code in none.stdout


def test_an_empty_or_missing_runs_folder_has_no_runs_yet(runs: Runs, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "empty", tmp_path / "missing"):
        listed = runs.cli("list", runs_dir=folder)
        as_json = runs.cli("list", "--json", runs_dir=folder)
        shown = runs.cli("show", "2026", runs_dir=folder)

        assert listed.returncode == 0 and f"no runs yet in {folder}" in listed.stdout
        assert as_json.json()["runs"] == []
        assert shown.returncode == BAD_ARGUMENT and str(folder) in shown.stderr
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize("text", ["", '{"run_id": "20', "[]", '{"run_id": "x"}', "\xff"])
def test_a_corrupt_manifest_is_skipped_by_list_and_refused_by_show(
    runs: Runs, tmp_path: Path, text: str
) -> None:
    folder = copy_run(runs, tmp_path, INTERRUPTED_ID)
    (folder / "manifest.json").write_text(text, encoding="latin-1")
    copy_run(runs, tmp_path, QUIET_ID)

    listed = runs.cli("list", runs_dir=tmp_path)
    shown = runs.cli("show", INTERRUPTED_ID, runs_dir=tmp_path)

    assert listed.returncode == 0, listed.stderr
    assert f"skipped {folder / 'manifest.json'}" in listed.stderr
    assert QUIET_ID in listed.stdout and INTERRUPTED_ID not in listed.stdout
    assert shown.returncode == UNREADABLE
    assert str(folder / "manifest.json") in shown.stderr and "Traceback" not in shown.stderr


def test_an_interrupted_run_is_listed_and_shown_with_its_signal(runs: Runs, tmp_path: Path) -> None:
    message = "stopped by SIGTERM between stages: nothing was committed"
    error = {"class": "interrupted", "exit_code": 143, "message": message}
    copy_run(runs, tmp_path, INTERRUPTED_ID, status="interrupted", error=error, output=None)

    listed = runs.cli("list", "--json", runs_dir=tmp_path)
    shown = runs.cli("show", INTERRUPTED_ID, runs_dir=tmp_path)

    assert listed.json()["runs"][0]["status"] == "interrupted"
    assert shown.returncode == 0, shown.stderr
    assert "interrupted" in shown.stdout and message in shown.stdout


def test_a_run_without_a_manifest_is_unfinished(runs: Runs, tmp_path: Path) -> None:
    (tmp_path / UNFINISHED_ID).mkdir()
    copy_run(runs, tmp_path, QUIET_ID)

    listed = runs.cli("list", "--json", runs_dir=tmp_path)
    shown = runs.cli("show", UNFINISHED_ID, runs_dir=tmp_path)

    assert [(run["run_id"], run["status"]) for run in listed.json()["runs"]] == [
        (UNFINISHED_ID, "unfinished"),
        (QUIET_ID, "succeeded"),
    ]
    assert shown.returncode == 0 and "has no manifest yet" in shown.stdout


def test_a_run_that_quarantined_nothing_says_so(runs: Runs, tmp_path: Path) -> None:
    counts = {**runs.quarantining["counts"], "quarantined": 0}
    folder = copy_run(runs, tmp_path, QUIET_ID, counts=counts, quarantine=None)
    (folder / "quarantine.parquet").unlink()

    text = runs.cli("quarantine", QUIET_ID, runs_dir=tmp_path)
    as_json = runs.cli("quarantine", QUIET_ID, "--json", runs_dir=tmp_path)

    assert text.returncode == 0 and "quarantined no rows" in text.stdout
    assert as_json.json()["rows"] == 0 and as_json.json()["reasons"] == []


def test_a_missing_or_corrupt_quarantine_file_is_an_error_naming_it(
    runs: Runs, tmp_path: Path
) -> None:
    missing = copy_run(runs, tmp_path, QUIET_ID) / "quarantine.parquet"
    missing.unlink()
    corrupt = copy_run(runs, tmp_path, INTERRUPTED_ID) / "quarantine.parquet"
    corrupt.write_bytes(corrupt.read_bytes()[:100])

    for run_id, path in ((QUIET_ID, missing), (INTERRUPTED_ID, corrupt)):
        result = runs.cli("quarantine", run_id, runs_dir=tmp_path)

        assert result.returncode == UNREADABLE
        assert str(path) in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("wanted", ["..", "../runs", "/etc/passwd", "x/../..", "."])
def test_a_run_id_with_path_characters_reads_nothing_outside(runs: Runs, wanted: str) -> None:
    for command in ("show", "quarantine"):
        result = runs.cli(command, wanted)

        assert result.returncode == BAD_ARGUMENT
        assert "is not a run id" in result.stderr and result.stdout == ""


def test_an_unknown_run_id_names_the_runs_folder_and_the_nearest_ids(runs: Runs) -> None:
    wanted = runs.newest["run_id"][:-1] + "x"
    result = runs.cli("show", wanted)

    assert result.returncode == BAD_ARGUMENT
    assert str(runs.workspace.runs_dir) in result.stderr
    assert runs.newest["run_id"] in result.stderr


def test_a_prefix_of_several_run_ids_lists_them(runs: Runs) -> None:
    result = runs.cli("show", runs.manifests[0]["run_id"][:4])

    assert result.returncode == BAD_ARGUMENT
    for manifest in runs.manifests:
        assert manifest["run_id"] in result.stderr
