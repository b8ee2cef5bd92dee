"""The destination seam: what every engine's loader writes through.

An engine writes valid rows as hive-partitioned Parquet into a local staging folder the
store hands it (`begin`); the store makes them visible in one atomic step (`commit`): a
renamed snapshot on a local disk, a manifest written last in S3, or one transaction in
PostgreSQL. Engines never know which destination they write to.

Each destination module exports `open_destination(settings, *, key, runs_dir, replaces,
advance)` (the store for one run; `advance`: the source state to commit with its rows) and
`read_source_state(settings, *, runs_dir)` (the source state committed with the current
rows, for an incremental source to start from).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class StagedSnapshot:
    """A run's output being written: the run, and the local folder the engine writes into."""

    run_id: str
    path: Path


@dataclass(frozen=True)
class Replacement:
    """The committed rows a run replaces, in the output partitions it touches.

    A full run of a full-picture source (`Replacement()`) rewrites every output partition
    it has rows for. Otherwise the run merges: in each output partition it touches, the
    committed rows stay unless they come from `partition` (a source-partition run) or, with
    `by_key`, carry a key the run delivers again (an incremental source's changes).
    """

    partition: date | None = None
    by_key: bool = False

    @property
    def merges(self) -> bool:
        """True when committed rows the run does not replace are kept beside its rows."""
        return self.partition is not None or self.by_key


# A full run of a full-picture source: it replaces whole output partitions.
FULL_REWRITE = Replacement()


class DatasetStore(Protocol):
    """Stages and commits a partitioned dataset for one run at a time."""

    @property
    def location(self) -> str:
        """Where readers find the committed data (a path, URI or table name)."""
        ...

    def begin(self, run_id: str) -> StagedSnapshot:
        """Take the destination's lock and open an empty local staging folder."""
        ...

    def current_snapshot(self) -> Path | None:
        """A local folder holding the committed rows, for a partition run to keep rows from.

        None when nothing is committed yet, or when the store merges rows itself (by key).
        """
        ...

    def carry_over(
        self, staged: StagedSnapshot, rewritten: frozenset[str] = frozenset()
    ) -> tuple[str, ...]:
        """Keep the committed partitions this run does not rewrite; return those it wrote."""
        ...

    def commit(self, staged: StagedSnapshot) -> str:
        """Make the staged rows visible in one atomic step; return the snapshot's name."""
        ...

    def abort(self, staged: StagedSnapshot) -> None:
        """Throw the staged rows away; committed data is untouched."""
        ...
