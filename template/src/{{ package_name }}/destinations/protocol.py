"""The destination seam: what every engine's loader writes through.

An engine writes a run's valid rows, one row per key, as Parquet files into a local staging
folder the destination hands it (`begin`). The destination then merges them into the
committed rows in one atomic step (`commit`): one Delta Lake commit (on disk or on S3) or
one PostgreSQL transaction. Every destination merges by the same rule
(`semantics/merge.py`): a delivered row replaces the committed row of its key unless that
one comes from a later source partition, and a run deletes the committed rows it replaces
that it no longer has (`Replacement`). Engines never know which destination they write to.

Each destination module exports `open_destination(settings, *, contract, runs_dir,
replaces, advance)` (the destination for one run; `advance`: the source state to commit
with its rows) and `read_source_state(settings, *, runs_dir)` (the source state committed
with the current rows, for an incremental source to start from).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class StagedRows:
    """A run's rows being written: the run, and the local folder the engine writes into."""

    run_id: str
    path: Path


@dataclass(frozen=True)
class Replacement:
    """The committed rows a run replaces, and so deletes when it no longer has their key.

    A full run of a full-picture source (`Replacement()`) replaces the committed rows of
    every output partition it writes. A source-partition run (`partition`) replaces the rows
    that came from that source partition. An incremental source's run (`by_key`) delivers
    changes: it replaces only the keys it delivers again, and deletes nothing.
    """

    partition: date | None = None
    by_key: bool = False


# A full run of a full-picture source: it replaces whole output partitions.
FULL_REWRITE = Replacement()


class Destination(Protocol):
    """Stages a run's rows locally and merges them into the committed rows in one step."""

    @property
    def location(self) -> str:
        """Where readers find the committed rows (a path, URI or table name)."""
        ...

    def begin(self, run_id: str) -> StagedRows:
        """Open an empty local staging folder for this run's Parquet files."""
        ...

    def commit(self, staged: StagedRows, written: Sequence[object]) -> str:
        """Merge the staged rows (whose output partition values are `written`) into the
        committed rows in one atomic step, with the source state the run advances to;
        return the version readers now see."""
        ...

    def abort(self, staged: StagedRows) -> None:
        """Throw the staged rows away; committed rows are untouched."""
        ...
