"""The engine-neutral half of every engine's loader: stage into the store, check, commit.

An engine subclasses `PartitionedLoader` and says only what needs the engine: the columns a
frame has, how it writes staged Parquet (and which committed rows it keeps), and how it
counts the rows on disk. Opening and aborting the store's staging, refusing rows without a
partition value, and committing are the same for every engine.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Generic, TypeVar

from ..errors import DataContractError
from ..pipeline.stages import Batch, CommittedOutput, StagedOutput
from .store import FULL_REWRITE, DatasetStore, Replacement, StagedSnapshot

FrameT = TypeVar("FrameT")

# Hive's name for the folder of rows whose partition value is null.
HIVE_NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"


def hive_value(value: object) -> str:
    """A partition value as hive names its folder (null has a name of its own)."""
    return HIVE_NULL_PARTITION if value is None else str(value)


class PartitionedLoader(ABC, Generic[FrameT]):
    """Writes valid rows as hive-partitioned Parquet into the store's staging, then commits.

    A full run rewrites every partition it has rows for. A run that merges (`replaces`: one
    source partition, or an incremental source's changes by `key`) rewrites only the rows it
    replaces: in each affected output partition the engine keeps the other committed rows
    (read from `dataset.current_snapshot()`), so reruns and backfills are idempotent and
    never lose another day's late arrivals.
    """

    def __init__(
        self,
        dataset: DatasetStore,
        *,
        partition_by: str,
        key: Sequence[str] = (),
        replaces: Replacement = FULL_REWRITE,
    ) -> None:
        self.dataset = dataset
        self.partition_by = partition_by
        self.key = tuple(key)
        self.replaces = replaces
        self._staged: dict[str, StagedSnapshot] = {}

    @property
    def location(self) -> str:
        """Where readers find the committed rows (the store decides)."""
        return self.dataset.location

    def stage(self, batch: Batch[FrameT], run_id: str) -> StagedOutput:
        """Write the partitions into staging and count the rows actually on disk."""
        if self.partition_by not in self._columns(batch.frame):
            raise DataContractError(
                f"partition column {self.partition_by!r} is missing after transforms: derive it "
                "in transforms/ or change partition_by in contracts/"
            )
        staged = self.dataset.begin(run_id)
        try:
            # No rows (a run that only advances its source's state): keep what is committed.
            kept_rows, rewritten = (
                self._write_staged(batch, staged.path) if batch.rows else (0, frozenset[str]())
            )
            written = self.dataset.carry_over(staged, rewritten=rewritten)
            self._refuse_null_partition(written)
            files = [path for name in written for path in (staged.path / name).glob("*.parquet")]
            on_disk = self._count_rows(files) if files else 0
        except BaseException:
            self.dataset.abort(staged)
            raise
        self._staged[run_id] = staged
        return StagedOutput(
            rows=on_disk - kept_rows, partitions=written, staging_location=str(staged.path)
        )

    def commit(self, staged: StagedOutput) -> CommittedOutput:
        """Make the staged rows visible in one atomic step of the store."""
        snapshot = self.dataset.commit(self._staged.pop(_run_id_of(staged)))
        return CommittedOutput(
            rows=staged.rows,
            partitions=staged.partitions,
            location=self.location,
            snapshot=snapshot,
        )

    def abort(self, staged: StagedOutput) -> None:
        """Throw the staged rows away."""
        self.dataset.abort(self._staged.pop(_run_id_of(staged)))

    def rewritten_partitions(self, values: Iterable[object]) -> frozenset[str]:
        """Folder names of the output partitions holding `values` of the partition column."""
        return frozenset(f"{self.partition_by}={hive_value(value)}" for value in values)

    @abstractmethod
    def _columns(self, frame: FrameT) -> Collection[str]:
        """The frame's column names."""

    @abstractmethod
    def _write_staged(self, batch: Batch[FrameT], staging: Path) -> tuple[int, frozenset[str]]:
        """Write the batch (plus, on a partition run, the committed rows it keeps) into
        `staging` as `<partition_by>=<value>/*.parquet`; return how many kept rows it wrote
        and the partitions rewritten even if left empty."""

    @abstractmethod
    def _count_rows(self, files: Sequence[Path]) -> int:
        """Rows in these Parquet files, read back from disk."""

    def _refuse_null_partition(self, partitions: Sequence[str]) -> None:
        if f"{self.partition_by}={HIVE_NULL_PARTITION}" in partitions:
            raise DataContractError(
                f"some rows have no value in partition column {self.partition_by!r}: add a "
                "NotNull rule for the column it is derived from in validation/rules.py"
            )


def _run_id_of(staged: StagedOutput) -> str:
    return Path(staged.staging_location).name
