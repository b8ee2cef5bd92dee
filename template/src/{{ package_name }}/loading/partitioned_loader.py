"""The engine-neutral half of every engine's loader: stage into the destination, check,
commit.

An engine subclasses `PartitionedLoader` and says only what needs the engine: the columns a
frame has, and how it writes the run's valid rows, one row per key (`semantics/merge.py`),
as Parquet files into staging. Reading back what was staged (rows, null keys and partition
values, from the files), refusing rows the destination could not merge, and committing are
the same for every engine.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Generic, TypeVar

from ..destinations.protocol import Destination, StagedRows
from ..destinations.staged_files import count_nulls, count_rows, distinct_values, parquet_files
from ..errors import DataContractError
from ..pipeline.stages import Batch, CommittedOutput, StagedOutput

FrameT = TypeVar("FrameT")

# Hive's name for the folder of rows whose partition value is null.
HIVE_NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"


def hive_value(value: object) -> str:
    """A partition value as hive names its folder (null has a name of its own)."""
    return HIVE_NULL_PARTITION if value is None else str(value)


class PartitionedLoader(ABC, Generic[FrameT]):
    """Stages a run's valid rows, one per key, as Parquet, then has the destination merge
    them into the committed rows (`semantics/merge.py` says which row wins)."""

    def __init__(self, destination: Destination, *, partition_by: str, key: Sequence[str]) -> None:
        self.destination = destination
        self.partition_by = partition_by
        self.key = tuple(key)
        self._staged: dict[str, tuple[StagedRows, list[object]]] = {}

    @property
    def location(self) -> str:
        """Where readers find the committed rows (the destination decides)."""
        return self.destination.location

    def stage(self, batch: Batch[FrameT], run_id: str) -> StagedOutput:
        """Write the rows into staging and count the rows actually on disk."""
        columns = self._columns(batch.frame)
        for name, what in [(self.partition_by, "partition_by"), *((k, "key") for k in self.key)]:
            if name not in columns:
                raise DataContractError(
                    f"{what} column {name!r} is missing after transforms: derive it in "
                    f"transforms/ or change {what} in contracts/"
                )
        staged: StagedRows | None = None
        try:
            staged = self.destination.begin(run_id)
            # No rows (a run that only advances its source's state): nothing to write.
            superseded = self._write_staged(batch, staged.path) if batch.rows else 0
            files = parquet_files(staged.path)
            self._refuse_nulls(files)
            on_disk = count_rows(files)
            written = distinct_values(files, self.partition_by)
        except BaseException:  # a stop signal (pipeline/interruption.py) included
            if staged is not None:
                self.destination.abort(staged)
            raise
        self._staged[run_id] = (staged, written)
        partitions = sorted(f"{self.partition_by}={hive_value(value)}" for value in written)
        return StagedOutput(
            rows=on_disk,
            partitions=tuple(partitions),
            staging_location=str(staged.path),
            superseded=superseded,
        )

    def commit(self, staged: StagedOutput) -> CommittedOutput:
        """Merge the staged rows into the committed ones in one atomic step."""
        rows, written = self._staged.pop(_run_id_of(staged))
        version = self.destination.commit(rows, written)
        return CommittedOutput(
            rows=staged.rows,
            partitions=staged.partitions,
            location=self.location,
            snapshot=version,
        )

    def abort(self, staged: StagedOutput) -> None:
        """Throw the staged rows away."""
        rows, _ = self._staged.pop(_run_id_of(staged))
        self.destination.abort(rows)

    @abstractmethod
    def _columns(self, frame: FrameT) -> Collection[str]:
        """The frame's column names."""

    @abstractmethod
    def _write_staged(self, batch: Batch[FrameT], staging: Path) -> int:
        """Write the batch's rows, leaving out those `semantics.merge.superseded` flags, as
        Parquet files into `staging` (any names, the partition column inside, the
        pipeline's `_` columns dropped); return how many rows were left out."""

    def _refuse_nulls(self, files: Sequence[Path]) -> None:
        """A row without a partition value or a key could not be merged by key."""
        for column, what in [(self.partition_by, "partition"), *((k, "key") for k in self.key)]:
            if files and count_nulls(files, column):
                raise DataContractError(
                    f"some rows have no value in {what} column {column!r}: add a NotNull rule "
                    "for it (or the column it is derived from) in validation/rules.py"
                )


def _run_id_of(staged: StagedOutput) -> str:
    return Path(staged.staging_location).name
