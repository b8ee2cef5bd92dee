"""The quarantine file: every engine's rejected rows plus the malformed records, one schema.

`<runs_dir>/<run_id>/quarantine.parquet` holds the rejected rows (as
`semantics.quarantine.quarantine_record` shapes them), then the malformed records, in the
one schema every engine shares (`canonical_schema`: plain strings, int64 record numbers,
UTC microsecond timestamps). Either the engine writes its rows in its own types and
`write_quarantine` copies them into that schema and appends the malformed records, or the
engine writes the whole file in that schema itself (`keep_quarantine`, for an engine that
can: one write instead of two). Both rename the file into place and report the rows it
holds, read back from it: the books never take an engine's word for what it wrote.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..pipeline.stages import Malformed, QuarantineOutput
from ..semantics.columns import RUN_ID, SOURCE_ROW
from .atomic_file import write_atomically

QUARANTINE_FILE = "quarantine.parquet"


def write_quarantine(
    runs_dir: Path,
    run_id: str,
    rejected: Callable[[Path], None],
    malformed: Malformed,
    *,
    scratch: Path,
) -> QuarantineOutput:
    """Write the run's quarantine file: `rejected(path)` writes the engine's rows there.
    Work in progress stays in `scratch`, the run's own folder, swept after a kill."""
    target = runs_dir / run_id / QUARANTINE_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch, prefix=".rejected-") as folder:
        engine_file = Path(folder) / "rejected.parquet"
        rejected(engine_file)
        source = pq.ParquetFile(engine_file)
        schema = canonical_schema(source.schema_arrow)
        extra = malformed_records(malformed, schema, run_id)

        def write(temporary: Path) -> None:
            with pq.ParquetWriter(temporary, schema, compression="zstd") as writer:
                for batch in source.iter_batches():
                    writer.write_table(_as_schema(pa.Table.from_batches([batch]), schema))
                if extra.num_rows:
                    writer.write_table(extra)

        write_atomically(target, write, scratch=scratch)
    # Give back what the copy held: the allocator keeps freed memory for reuse, and the run's
    # largest step, writing the output, comes next.
    pa.default_memory_pool().release_unused()
    return _written(target)


def keep_quarantine(
    runs_dir: Path, run_id: str, write: Callable[[Path], None], *, scratch: Path
) -> QuarantineOutput:
    """Keep the run's quarantine file as `write(path)` writes it: the whole file, in the
    canonical schema, malformed records included (see `malformed_records`), written in
    `scratch`, the run's own folder, until it is whole."""
    target = runs_dir / run_id / QUARANTINE_FILE
    write_atomically(target, write, scratch=scratch)
    return _written(target)


def malformed_records(malformed: Malformed, schema: pa.Schema, run_id: str) -> pa.Table:
    """The malformed records as rows of the quarantine file's `schema`, with the run."""
    records = malformed.records
    run_ids = pa.array([run_id] * records.num_rows, pa.string())
    return _as_schema(records.append_column(RUN_ID, run_ids), schema)


def _written(target: Path) -> QuarantineOutput:
    return QuarantineOutput(rows=pq.ParquetFile(target).metadata.num_rows, location=str(target))


def canonical_schema(schema: pa.Schema) -> pa.Schema:
    """The schema every engine's Parquet output shares: no metadata, nullable fields."""
    return pa.schema([pa.field(f.name, canonical_type(f.name, f.type)) for f in schema])


def canonical_type(name: str, arrow_type: pa.DataType) -> pa.DataType:
    """One physical type per logical type, whichever engine produced the column."""
    if pa.types.is_dictionary(arrow_type):
        return canonical_type(name, arrow_type.value_type)
    if (
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_string_view(arrow_type)
    ):
        return pa.string()
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return pa.list_(canonical_type(name, arrow_type.value_type))
    if pa.types.is_timestamp(arrow_type):
        return pa.timestamp("us", tz="UTC")
    if name == SOURCE_ROW or (pa.types.is_integer(arrow_type) and arrow_type != pa.uint64()):
        return pa.int64()
    if pa.types.is_null(arrow_type):
        return pa.string()  # a column no row had a value in (an engine could not tell)
    return arrow_type


def _as_schema(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """`table` with exactly `schema`'s columns: cast, and null where `table` lacks one."""
    columns = [
        table.column(field.name).cast(field.type)
        if field.name in table.column_names
        else pa.nulls(table.num_rows, field.type)
        for field in schema
    ]
    return pa.table(columns, schema=schema)
