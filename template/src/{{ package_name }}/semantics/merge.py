"""Which committed rows a merging run keeps, written once for every engine.

A run that merges (a partition run, or an incremental source's changes) rewrites only the
output partitions it touches: the partitions of the rows it delivers, and of the committed
rows it replaces. In those, a committed row is replaced when it came from the source
partition the run reprocesses, or (changes by key) when the run delivers its key again;
every other committed row is kept, so reruns and backfills are idempotent and another
day's late arrivals survive. Engines read the committed rows and write the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Generic

import narwhals as nw
from narwhals.typing import FrameT

from .columns import SOURCE_PARTITION

_REDELIVERED = "_redelivered"  # on a committed row whose key the run delivers again


@dataclass(frozen=True)
class MergePlan(Generic[FrameT]):
    """The committed rows to keep beside the run's, and the partitions being rewritten."""

    kept: FrameT
    rewritten: tuple[object, ...]


def plan_merge(
    committed: FrameT,
    delivered: FrameT,
    *,
    source_partition: date | None,
    by_key: bool,
    key: Sequence[str],
    partition_by: str,
) -> MergePlan[FrameT]:
    """Plan a merging run: `committed` rows (with their partition column) and the rows
    the run `delivered` (transformed and valid); it reprocesses `source_partition` (or
    every partition), and with `by_key` its rows are changes by key."""
    replaced = nw.lit(False)
    if source_partition is not None and SOURCE_PARTITION in committed.columns:
        same_day = nw.col(SOURCE_PARTITION) == nw.lit(source_partition, nw.Date)
        replaced = replaced | same_day.fill_null(False)  # a row of no partition stays
    if by_key:
        keys = delivered.select(*key).unique().with_columns(nw.lit(True).alias(_REDELIVERED))
        committed = committed.join(keys, on=list(key), how="left")
        replaced = replaced | ~nw.col(_REDELIVERED).is_null()
    touched = nw.concat(
        [committed.filter(replaced).select(partition_by), delivered.select(partition_by)]
    ).unique()
    collected = touched.collect() if isinstance(touched, nw.LazyFrame) else touched
    values = tuple(value for value in collected[partition_by].to_list() if value is not None)
    kept = committed.filter(nw.col(partition_by).is_in(values) & ~replaced)
    if by_key:
        kept = kept.drop(_REDELIVERED)
    return MergePlan(kept, values)
