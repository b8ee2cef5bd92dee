"""The runs folder as records: each run's folder and its manifest, newest first.

A run's folder is `<runs_dir>/<run_id>/` (`pipeline/manifest.py`); only folders named like a
run id count (`pipeline/retention.py`), so `_expired/`, `_source/` and whatever else shares the
folder are never read as runs. A folder without a manifest is a run still under way or one a
SIGKILL ended (the manifest is written last). A run is looked up by its id or a unique prefix
of it, matched against the folder's listing: a user's text never becomes a path.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..pipeline.manifest import MANIFEST_FILE
from ..pipeline.retention import run_started_at

# Keys `runs list` and `runs show` read; a manifest without them is not one this pipeline wrote.
REQUIRED_KEYS = ("run_id", "status", "started_at", "counts")
COUNT_KEYS = ("read", "written", "superseded", "quarantined", "filtered")
# An unfinished run's status: no manifest yet (under way) or ever (killed).
UNFINISHED = "unfinished"
NEAREST_IDS = 5


class RunLookupError(Exception):
    """No single run matches the id asked for; the message says what exists."""


class ManifestError(Exception):
    """A run's manifest cannot be read back (truncated, not JSON, not a manifest)."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: not a readable run manifest ({problem})")
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class RunRecord:
    """One run's folder and, once the run has written it, its manifest."""

    run_id: str
    folder: Path
    manifest: dict[str, Any] | None

    @property
    def status(self) -> str:
        """The manifest's status, or `unfinished` for a run without one."""
        return str(self.manifest["status"]) if self.manifest else UNFINISHED

    @property
    def started_at(self) -> str:
        """The manifest's start time, or the one the run id records."""
        if self.manifest:
            return str(self.manifest["started_at"])
        started = run_started_at(self.run_id)
        return started.isoformat() if started else ""

    def summary(self) -> dict[str, Any]:
        """The record as `runs list --json` prints it."""
        manifest = self.manifest or {}
        return {
            "run_id": self.run_id,
            "status": self.status,
            "partition": manifest.get("partition"),
            "started_at": self.started_at,
            "duration_seconds": manifest.get("duration_seconds"),
            "counts": manifest.get("counts"),
            "manifest": str(self.folder / MANIFEST_FILE) if self.manifest else None,
        }


@dataclass(frozen=True)
class RunListing:
    """The runs of a runs folder, newest first, and the manifests that could not be read."""

    runs: list[RunRecord]
    unreadable: list[ManifestError]


def run_folders(runs_dir: Path) -> list[Path]:
    """The folders of `runs_dir` named like a run id (none when it does not exist)."""
    if not runs_dir.is_dir():
        return []
    return [
        entry
        for entry in runs_dir.iterdir()
        if run_started_at(entry.name) is not None and entry.is_dir() and not entry.is_symlink()
    ]


def list_runs(runs_dir: Path, limit: int | None = None) -> RunListing:
    """The newest `limit` runs (all when None), skipping those whose manifest is unreadable."""
    runs: list[RunRecord] = []
    unreadable: list[ManifestError] = []
    for folder in run_folders(runs_dir):
        try:
            runs.append(read_run(folder))
        except ManifestError as error:
            unreadable.append(error)
    # Newest first: the id's time has whole seconds; the manifest's start time breaks ties.
    runs.sort(key=lambda run: (run.run_id[:16], run.started_at, run.run_id), reverse=True)
    unreadable.sort(key=lambda error: str(error.path), reverse=True)
    return RunListing(runs[:limit] if limit is not None else runs, unreadable)


def read_run(folder: Path) -> RunRecord:
    """The run in `folder`, with its manifest when it has one."""
    path = folder / MANIFEST_FILE
    if not path.exists():
        return RunRecord(folder.name, folder, None)
    return RunRecord(folder.name, folder, read_manifest(path))


def read_manifest(path: Path) -> dict[str, Any]:
    """A manifest as written by `ManifestStore`, checked for the keys the commands read."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ManifestError(path, "not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise ManifestError(path, f"not JSON: {error}") from None
    except OSError as error:
        raise ManifestError(path, error.strerror or type(error).__name__) from None
    if not isinstance(manifest, dict):
        raise ManifestError(path, "not a JSON object")
    missing = [key for key in REQUIRED_KEYS if key not in manifest]
    if missing:
        raise ManifestError(path, f"no {', '.join(missing)}")
    counts = manifest["counts"]
    if not isinstance(counts, dict) or not all(
        isinstance(counts.get(key), int) for key in COUNT_KEYS
    ):
        raise ManifestError(path, f"counts are not whole numbers of {', '.join(COUNT_KEYS)}")
    return manifest


def find_run(runs_dir: Path, wanted: str) -> RunRecord:
    """The run whose id is `wanted` or starts with it; RunLookupError naming the runs folder
    and the nearest ids when there is none, or several."""
    ids = sorted((folder.name for folder in run_folders(runs_dir)), reverse=True)
    if not ids:
        raise RunLookupError(f"no runs in {runs_dir} (the runs folder, runs_dir) yet")
    if not wanted or any(mark in wanted for mark in ("/", "\\", "\0")) or wanted in (".", ".."):
        raise RunLookupError(
            f"{wanted!r} is not a run id: a run id names a folder in {runs_dir} "
            f"(the runs folder), such as {ids[0]}"
        )
    matches = [run_id for run_id in ids if run_id.startswith(wanted)]
    if len(matches) == 1:
        return read_run(runs_dir / matches[0])
    if matches:
        raise RunLookupError(
            f"{wanted!r} starts {len(matches)} run ids in {runs_dir}: "
            f"{', '.join(matches[:NEAREST_IDS])}{', ...' if len(matches) > NEAREST_IDS else ''}; "
            "give more of the id"
        )
    nearest = difflib.get_close_matches(wanted, ids, n=NEAREST_IDS, cutoff=0.5) or ids[:NEAREST_IDS]
    raise RunLookupError(
        f"no run {wanted!r} in {runs_dir} (the runs folder); nearest: {', '.join(nearest)}"
    )


def last_finished(runs: RunListing, status: str) -> float:
    """Unix time the newest run with `status` finished (0.0 when there is none): the history
    each batch run re-exports (`pipeline.run.last_success`, `.last_failure`)."""
    finished = [
        datetime.fromisoformat(str(run.manifest["finished_at"])).timestamp()
        for run in runs.runs
        if run.manifest and run.status == status and run.manifest.get("finished_at")
    ]
    return max(finished, default=0.0)
