"""What an engine staged, read back from disk the same way for every engine.

The loader trusts no engine's own count: rows, null keys and output partitions are read
from the staged Parquet files (row counts and null counts from their footers where the
writer recorded them).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq


def parquet_files(folder: Path) -> list[Path]:
    """The data files under `folder`, leaving out writers' hidden and marker files."""
    return sorted(
        path
        for path in folder.rglob("*.parquet")
        if not any(part.startswith((".", "_")) for part in path.relative_to(folder).parts)
    )


def count_rows(files: Sequence[Path]) -> int:
    """Rows in these Parquet files, from their footers."""
    return sum(pq.ParquetFile(path).metadata.num_rows for path in files)


def count_nulls(files: Sequence[Path], column: str) -> int:
    """Rows whose `column` is null (footer statistics, or the column itself when a writer
    left them out)."""
    nulls = 0
    for path in files:
        metadata = pq.ParquetFile(path).metadata
        index = metadata.schema.names.index(column)
        groups = [metadata.row_group(number).column(index) for number in range(metadata.num_row_groups)]
        if all(group.statistics is not None and group.statistics.has_null_count for group in groups):
            nulls += sum(group.statistics.null_count for group in groups)
        else:
            nulls += pq.read_table(path, columns=[column]).column(0).null_count
    return nulls


def distinct_values(files: Sequence[Path], column: str) -> list[object]:
    """The distinct values of `column` in these files, as Python values."""
    if not files:
        return []
    table = ds.dataset([str(path) for path in files], format="parquet").to_table(columns=[column])
    return pc.unique(table.column(0)).to_pylist()
