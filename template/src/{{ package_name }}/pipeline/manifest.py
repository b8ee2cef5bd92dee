"""The run manifest: the record every run leaves, written last.

Its counts must satisfy `read = written + superseded + quarantined + filtered`; a run that
breaks the law fails before its output is committed.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import DataContractError

MANIFEST_FILE = "manifest.json"  # in each run's folder, written last
RUN_ID_TIME = "%Y%m%dT%H%M%SZ"  # a run id starts with its start time, then a random part

# `interrupted`: a stop signal (SIGTERM, SIGINT) ended the run before its commit.
RunStatus = Literal["succeeded", "failed", "interrupted"]


@dataclass
class Counts:
    """Row counts of one run."""

    read: int = 0
    written: int = 0
    quarantined: int = 0
    filtered: int = 0
    # Valid rows another valid row of the same key replaced in this run (semantics/merge.py).
    superseded: int = 0

    def check_conservation(self) -> None:
        """Raise when rows appeared or vanished between read and write."""
        accounted = self.written + self.superseded + self.quarantined + self.filtered
        if self.read != accounted:
            raise DataContractError(
                f"conservation check failed: read {self.read} != written {self.written} + "
                f"superseded {self.superseded} + quarantined {self.quarantined} + "
                f"filtered {self.filtered} (= {accounted}); "
                "a transformer added rows or a loader lost some; nothing was committed"
            )


@dataclass
class RunManifest:
    """Everything a person or a tool needs to know about one run."""

    run_id: str
    partition: str | None
    pipeline: str
    template_version: str
    engine: str
    status: RunStatus
    started_at: str
    finished_at: str
    duration_seconds: float
    counts: Counts
    sources: list[str] = field(default_factory=list)
    violations: dict[str, int] = field(default_factory=dict)
    output: dict[str, Any] | None = None
    quarantine: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


class ManifestStore:
    """Manifests live at `<runs_dir>/<run_id>/manifest.json`, written atomically."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir

    def run_dir(self, run_id: str) -> Path:
        """The folder holding a run's manifest and quarantine output."""
        return self.runs_dir / run_id

    def write(self, manifest: RunManifest) -> Path:
        """Write the manifest so that it is either absent or complete, never partial."""
        target = self.run_dir(manifest.run_id) / MANIFEST_FILE
        write_atomically(target, json.dumps(manifest.to_dict(), indent=2, sort_keys=True) + "\n")
        return target


def write_atomically(target: Path, text: str) -> None:
    """Write text to a temporary file beside `target`, then rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(temporary).replace(target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
