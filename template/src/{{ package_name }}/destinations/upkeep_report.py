"""What a table upkeep did: the report every destination's `upkeep.maintain` returns.

`cli maintain` prints it as one line, or as one JSON object with `--json`; an orchestrator
(the scheduled maintenance of a streaming pipeline, ADR 0012) reads the JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class UpkeepReport:
    """One upkeep of the destination's table.

    `steps` names what was done, in order (`compact`, `vacuum`, `checkpoint`, `vacuum
    analyze`, ...); `counts` holds what each step counted (files before and after, files
    rewritten, files deleted, ...), named for what they count; `version` is what readers see
    afterwards (a Delta version, or the table's name); `dry_run` says nothing was changed.
    """

    location: str
    steps: tuple[str, ...]
    counts: Mapping[str, int] = field(default_factory=dict)
    version: str = ""
    seconds: float = 0.0
    dry_run: bool = False

    def to_dict(self) -> dict[str, object]:
        """The report as `maintain --json` prints it."""
        return {
            "status": "succeeded",
            "location": self.location,
            "steps": list(self.steps),
            "counts": dict(sorted(self.counts.items())),
            "version": self.version,
            "duration_seconds": round(self.seconds, 3),
            "dry_run": self.dry_run,
        }

    def summary(self) -> str:
        """One line: where, what was done, the counts, how long it took."""
        done = ", ".join(self.steps) if self.steps else "nothing to do"
        counted = ", ".join(f"{name.replace('_', ' ')} {n:,}" for name, n in self.counts.items())
        prefix = "dry run, nothing changed: " if self.dry_run else ""
        details = f" ({counted})" if counted else ""
        return f"{prefix}{self.location}: {done}{details} in {self.seconds:.2f} s"
