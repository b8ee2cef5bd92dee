"""The source seam: what every source hands the engines, and the state it asks to commit.

A source (local files, S3 objects, a PostgreSQL table) turns its settings into local files
the engine reads (`SourceFile`), plus, for an incremental source, the state to record once
the destination has committed the run (`SourceSelection.state`: processed objects, a
watermark). The state is committed by the destination in the same atomic step as the
rows, so it advances only with them and a fresh worker finds it where the data is.

Each source module exports `select_source(settings, partition, *, committed, workdir,
contract)`; the contract reaches it from the composition (a table source selects the
declared columns), never from an import of the team's `contracts/`. A file source that finds
nothing for a partition raises `PartitionInputMissing` (the `late_input` policy decides).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from ..errors import StaleStateError, TransientError

FileFormat = Literal["csv", "jsonl", "parquet"]

# JSON-ready and opaque to everything but the source that wrote it.
SourceState = dict[str, Any]


class PartitionInputMissing(TransientError):
    """A partition run found no input for its day: late, or never coming. The composition
    turns it into the error the `late_input` setting asks for (transient by default)."""

    def __init__(self, partition: date, expected: str) -> None:
        super().__init__(f"no input for partition {partition}: {expected} matches nothing")
        self.partition = partition
        self.expected = expected


@dataclass(frozen=True)
class SourceFile:
    """One local file to read, its format, the partition it holds, and where it came from."""

    path: Path
    format: FileFormat
    partition: date | None = None
    # Set when `path` is a local copy (e.g. `s3://bucket/key`): coordinates name the origin.
    origin: str | None = None

    @property
    def name(self) -> str:
        """The file as `_source_file` coordinates, manifests and messages name it."""
        return self.origin or str(self.path)


@dataclass(frozen=True)
class StateAdvance:
    """The source state a run started from (`since`) and the state it commits (`to`).

    The destination commits the advanced state with the run's rows, and refuses
    (`StaleStateError`) when the state it holds is no longer `since`: another run committed
    in between, so this run's view of what is new is stale.

    `owned` is for a stream consumer (ADR 0012): several consumers of one group share the
    state, one entry per partition, each owning some partitions. Only the owned entries are
    checked and advanced; the others stay as committed. None: the whole state is the run's.
    """

    since: SourceState | None
    to: SourceState
    owned: frozenset[str] | None = None

    def stale(self, committed: SourceState | None) -> bool:
        """True when the state the destination holds is no longer the one this run read."""
        if self.owned is None:
            return committed != self.since
        held, read = committed or {}, self.since or {}
        # A partition the destination has never seen starts where the broker says: only one
        # it holds can have moved.
        return any(key in held and held[key] != read.get(key) for key in self.owned)

    def state_after(self, committed: SourceState | None) -> SourceState:
        """The state to commit with the rows, given the state the destination holds."""
        if self.owned is None:
            return self.to
        advanced = {key: value for key, value in self.to.items() if key in self.owned}
        return {**(committed or {}), **advanced}

    def refusal(self, location: str) -> StaleStateError:
        """The error a destination raises when the state moved since this run read it."""
        return StaleStateError(
            f"another run committed to {location} since this run read its source state: "
            "nothing was committed; rerun to read what is new since then"
        )


@dataclass(frozen=True)
class SourceSelection:
    """What one run reads, which committed rows it replaces, and the state it advances to.

    `state` is None for a source that keeps none (local files: every run reads what the
    pattern matches); no `files` with a `state` means nothing is new since the last commit.
    `replaces_keys` says the rows are changes since the last commit (new or changed objects,
    rows past a watermark), so a committed row whose key arrives again is replaced.
    """

    files: tuple[SourceFile, ...]
    state: StateAdvance | None = None
    replaces_keys: bool = False

    @property
    def nothing_new(self) -> bool:
        """True when an incremental source has nothing since its committed state."""
        return self.state is not None and not self.files
