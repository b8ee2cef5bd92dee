"""Text files decoded once, for every engine: CSV and JSON Lines become Parquet text columns.

Engines' own CSV and JSON readers disagree on the records that matter most (measured: one
truncates a row with extra fields, another pads a short one, another drops extra tokens, a
broken JSON line fails a whole file), so text files are decoded here, with pyarrow's C++
readers, into a run-owned Parquet file of text columns plus each record's number
(`_source_row`). Engines then read nothing but Parquet, and every engine sees the same
records. A record that is not a record of the file (a CSV row with more or fewer fields
than the header, a JSON line that is not a JSON object, bytes that are not UTF-8) is kept
as a malformed record, with its reason code, coordinates and raw text, for quarantine;
only a file that cannot be read at all fails the run, naming the file and row.

docs/value-grammar.md describes the formats; Parquet source files are planned in place.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal, TypeAlias

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from ..errors import DataContractError, TransientError, file_error
from ..pipeline.contract import ColumnType, DatasetContract
from ..pipeline.stages import Malformed
from ..semantics.columns import RAW_RECORD, REASONS, SOURCE_FILE, SOURCE_ROW
from ..semantics.conform import FilePlan, empty_plan, plan_file, plan_text_file
from .selection import SourceFile

# Reason codes of malformed records (stable: quarantine consumers key off them).
RAGGED_RECORD = "RAGGED_RECORD"  # a CSV row with more or fewer fields than the header
INVALID_UTF8 = "INVALID_UTF8"  # a record whose bytes are not UTF-8
MALFORMED_JSON = "MALFORMED_JSON"  # a JSON Lines line that is not valid JSON
NOT_A_JSON_OBJECT = "NOT_A_JSON_OBJECT"  # valid JSON, but not an object

TEXT = pa.large_string()
UTC_MICROSECONDS = pa.timestamp("us", tz="UTC")
# Quoted: pyarrow's classes are generic only in its type stubs.
ArrowArray: TypeAlias = "pa.Array[Any]"
ArrowField: TypeAlias = "pa.Field[Any]"
_MALFORMED_FIELDS: list[ArrowField] = [
    pa.field(SOURCE_FILE, TEXT),
    pa.field(SOURCE_ROW, pa.int64()),
    pa.field(REASONS, pa.large_list(TEXT)),
    pa.field(RAW_RECORD, TEXT),
]
MALFORMED_SCHEMA = pa.schema(_MALFORMED_FIELDS)
CSV_BLOCK_BYTES = 4 << 20
JSON_CHUNK_BYTES = 16 << 20
# A column holding values of two JSON types in one chunk (a number in most records, text in
# a few: "12,50") stops pyarrow's reader; the chunk is then split by that column's type and
# each part read again, up to this many columns deep, before the exact line-by-line path
# (10k records: 110 ms line by line, measured).
MIXED_SPLITS = 4
_MIXED_COLUMN = re.compile(r"Column\(/([A-Za-z0-9_]+)\) changed from")
SCRATCH = "the run's folder (runs_dir)"  # where decoded copies go
JSON_WHITESPACE = b" \t\r\n"
JSON_SPACES = JSON_WHITESPACE.decode()


@dataclass(frozen=True)
class DecodedFile:
    """A source file as engines read it: Parquet, with its conform plan.

    `numbered`: the file holds each record's `_source_row` (a decoded text file); else the
    row number is the row's 1-based position in the file (a Parquet source file).
    """

    path: Path
    name: str
    partition: date | None
    plan: FilePlan
    numbered: bool


@dataclass(frozen=True)
class DecodedSource:
    """Every file of a run in Parquet, and the malformed records found decoding them."""

    files: tuple[DecodedFile, ...]
    malformed: Malformed


def decode(files: Sequence[SourceFile], contract: DatasetContract, spool: Path) -> DecodedSource:
    """Plan every file; decode text files into Parquet under `spool` (a run-owned folder)."""
    folder = spool / "decoded"
    folder.mkdir(parents=True, exist_ok=True)
    decoded: list[DecodedFile] = []
    malformed: list[pa.Table] = []
    for number, source in enumerate(files):
        target = folder / f"{number:05d}.parquet"
        if source.format == "parquet":
            decoded.append(_parquet(source, contract, target))
            continue
        decoder = (_CsvDecoder if source.format == "csv" else _JsonDecoder)(source, contract)
        header = decoder.write(target)
        # A file without records or columns (an empty export) has nothing to conform.
        empty = not header and not decoder.records
        plan = (empty_plan if empty else plan_text_file)(contract, header, source.name)
        decoded.append(DecodedFile(target, source.name, source.partition, plan, numbered=True))
        malformed.append(decoder.malformed())
    table = pa.concat_tables(malformed) if malformed else MALFORMED_SCHEMA.empty_table()
    return DecodedSource(tuple(decoded), Malformed(table, _reason_counts(table)))


def _reason_counts(malformed: pa.Table) -> dict[str, int]:
    if not malformed.num_rows:
        return {}
    counted = pc.value_counts(pc.list_flatten(malformed.column(REASONS)))
    codes, counts = counted.field("values").to_pylist(), counted.field("counts").to_pylist()
    return {str(code): int(count or 0) for code, count in zip(codes, counts, strict=True)}


def _parquet(source: SourceFile, contract: DatasetContract, target: Path) -> DecodedFile:
    """A Parquet source file, planned in place, or rewritten into `target` when a
    declared column holds times that not every engine reads alike."""
    try:
        schema = pq.read_schema(source.path)
    except pa.ArrowInvalid as error:
        raise DataContractError(
            f"cannot read {source.name}: not a Parquet file ({error})"
        ) from None
    except OSError as error:
        raise TransientError(f"cannot read {source.name}: {error}") from None
    plan = plan_file(contract, schema, source.name)
    odd = [name for name in plan.read if _odd_time(schema.field(name).type)]
    if not odd:
        return DecodedFile(source.path, source.name, source.partition, plan, numbered=False)
    _rewrite_times(source, list(plan.read), odd, target)
    return DecodedFile(target, source.name, source.partition, plan, numbered=False)


def _odd_time(arrow_type: pa.DataType) -> bool:
    """A time type some engine cannot read as UTC microseconds: another unit (Spark reads
    no nanoseconds), another or no zone (Polars refuses `+05:30`, Spark reads naive times
    as local), or 64-bit dates."""
    if pa.types.is_date64(arrow_type):
        return True
    return bool(pa.types.is_timestamp(arrow_type) and arrow_type != UTC_MICROSECONDS)


def _rewrite_times(source: SourceFile, columns: list[str], odd: list[str], target: Path) -> None:
    """Copy the declared columns, row group after row group, with the odd time columns as
    UTC microseconds (a time without a zone is UTC; finer fractions are cut off) or dates."""
    parquet = pq.ParquetFile(source.path)
    fields = {field.name: field.type for field in parquet.schema_arrow if field.name in columns}
    for name in odd:
        fields[name] = pa.date32() if pa.types.is_date64(fields[name]) else UTC_MICROSECONDS
    schema = pa.schema([pa.field(name, fields[name]) for name in columns])
    writer = _scratch_writer(target, schema)
    try:
        for batch in _reading(parquet.iter_batches(columns=columns), source.name):
            table = pa.Table.from_batches([batch])
            _scratch_write(writer, target, table.cast(schema, safe=False))
        _scratch_close(writer, target)
    finally:
        with contextlib.suppress(OSError):  # already failed: the first error is the one to tell
            writer.close()


def _reading(batches: Iterator[pa.RecordBatch], name: str) -> Iterator[pa.RecordBatch]:
    """`batches`, a failure to read them named as the source file's."""
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except OSError as error:
            raise TransientError(f"cannot read {name}: {error}") from None
        yield batch


def _scratch_writer(target: Path, schema: pa.Schema) -> pq.ParquetWriter:
    """A Parquet writer of a decoded copy; a full or read-only runs folder named as such."""
    try:
        return pq.ParquetWriter(target, schema, compression="lz4")
    except OSError as error:
        raise file_error(error, target, SCRATCH) from None


def _scratch_write(writer: pq.ParquetWriter, target: Path, rows: pa.RecordBatch | pa.Table) -> None:
    try:
        writer.write(rows)
    except OSError as error:
        raise file_error(error, target, SCRATCH) from None


def _scratch_close(writer: pq.ParquetWriter, target: Path) -> None:
    try:
        writer.close()
    except OSError as error:
        raise file_error(error, target, SCRATCH) from None


class _Decoder:
    """Writes the declared columns of one text file, as text, into a Parquet file."""

    def __init__(self, source: SourceFile, contract: DatasetContract) -> None:
        self.source = source
        self.contract = contract
        self.declared = contract.column_names
        self._malformed: list[tuple[int, str, str]] = []  # (row, reason, raw text)
        self.records = 0  # rows written, after `write`

    def write(self, target: Path) -> list[str]:
        """Decode into `target`; return the file's fields (CSV header, JSON keys seen)."""
        return self._write(target, self._batches())

    def _write(self, target: Path, batches: Iterator[pa.RecordBatch]) -> list[str]:
        writer: pq.ParquetWriter | None = None
        self.records = 0
        try:
            for batch in _reading(batches, self.source.name):
                if writer is None:
                    writer = _scratch_writer(target, batch.schema)
                _scratch_write(writer, target, batch)
                self.records += batch.num_rows
            if writer is None:  # no records: an empty file, a header alone
                writer = _scratch_writer(target, self._schema())
            _scratch_close(writer, target)
        finally:
            if writer is not None:
                with contextlib.suppress(OSError):  # already failed: tell the first error
                    writer.close()
        return self.fields

    def malformed(self) -> pa.Table:
        """The malformed records found, in file order."""
        rows = sorted(self._malformed)
        return pa.table(
            [
                pa.array([self.source.name] * len(rows), TEXT),
                pa.array([row for row, _, _ in rows], pa.int64()),
                pa.array([[reason] for _, reason, _ in rows], pa.large_list(TEXT)),
                pa.array([raw for _, _, raw in rows], TEXT),
            ],
            schema=MALFORMED_SCHEMA,
        )

    @property
    def fields(self) -> list[str]:
        """The file's fields: its CSV header, or the keys its JSON records hold."""
        raise NotImplementedError

    def _schema(self) -> pa.Schema:
        """The decoded file's columns."""
        raise NotImplementedError

    def _batches(self) -> Iterator[pa.RecordBatch]:
        raise NotImplementedError

    def _reject(self, row: int, reason: str, raw: str) -> None:
        self._malformed.append((row, reason, raw))


class _NotClean(Exception):
    """A CSV file holds invalid records or bytes: decode it again, exactly."""


class _CsvDecoder(_Decoder):
    """RFC 4180 CSV in UTF-8 (a BOM is skipped): a header row, `,` between fields, `"`
    quoting (`""` inside quotes is one quote; quoted fields may span lines), LF or CRLF.
    An empty field, quoted or not, is null. Blank lines are not records."""

    def __init__(self, source: SourceFile, contract: DatasetContract) -> None:
        super().__init__(source, contract)
        self.header = self._header()

    @property
    def fields(self) -> list[str]:
        """The header row's fields."""
        return self.header

    def _schema(self) -> pa.Schema:
        return _text_schema(self._wanted())

    def _wanted(self) -> list[str]:
        return [name for name in self.declared if name in self.header]

    def write(self, target: Path) -> list[str]:
        """Decode on every core while the file is clean (every row has the header's fields,
        every byte is UTF-8: record numbers are then just 1, 2, 3...); a file that is not
        is decoded again on one thread, where each invalid record's number is known."""
        try:
            return self._write(target, self._clean_batches())
        except _NotClean:
            target.unlink(missing_ok=True)
            return self._write(target, self._batches())

    def _clean_batches(self) -> Iterator[pa.RecordBatch]:
        if not self.header:
            return  # an empty file holds no records
        wanted = self._wanted()
        unclean: list[bool] = []

        def note_invalid(_: pa_csv.InvalidRow) -> Literal["skip"]:
            unclean.append(True)
            return "skip"

        try:
            reader = pa_csv.open_csv(
                self.source.path,
                read_options=pa_csv.ReadOptions(use_threads=True, block_size=CSV_BLOCK_BYTES),
                parse_options=pa_csv.ParseOptions(
                    newlines_in_values=True, invalid_row_handler=note_invalid
                ),
                convert_options=self._convert_options(wanted, TEXT),
            )
            numbered = 0
            for batch in reader:
                if unclean:
                    raise _NotClean
                numbers = _counting(numbered + 1, batch.num_rows)
                numbered += batch.num_rows
                columns = [batch.column(name) for name in wanted]
                yield pa.record_batch([*columns, numbers], schema=_text_schema(wanted))
        except (pa.ArrowInvalid, UnicodeDecodeError):
            raise _NotClean from None  # bytes that are not UTF-8: the exact path finds them
        if unclean:
            raise _NotClean

    @staticmethod
    def _convert_options(wanted: list[str], kind: pa.DataType) -> pa_csv.ConvertOptions:
        return pa_csv.ConvertOptions(
            column_types=dict.fromkeys(wanted, kind),
            include_columns=wanted,
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            null_values=[""],
        )

    def _batches(self) -> Iterator[pa.RecordBatch]:
        if not self.header:
            return  # an empty file holds no records
        wanted = self._wanted()
        invalid: list[pa_csv.InvalidRow] = []

        def keep_invalid(row: pa_csv.InvalidRow) -> Literal["skip"]:
            invalid.append(row)
            return "skip"

        reader = self._open(self._convert_options(wanted, pa.binary()), keep_invalid)
        rows_before = 0  # valid records already numbered
        skipped: list[int] = []  # record numbers of every invalid record so far, ascending
        for batch in _read_all(reader, self.source.name):
            skipped += (self._invalid(row) for row in invalid)
            invalid.clear()
            numbers = _record_numbers(rows_before, batch.num_rows, skipped)
            rows_before += batch.num_rows
            yield self._text_batch(batch, wanted, numbers)
        for row in invalid:  # after the last batch (or in a file of invalid records only)
            self._invalid(row)

    def _header(self) -> list[str]:
        """The header row's fields (none for an empty file), checked like a file's schema."""
        if self.source.path.stat().st_size == 0:
            return []
        header = list(self._open(pa_csv.ConvertOptions(), lambda _: "skip").schema.names)
        plan_text_file(self.contract, header, self.source.name)  # refuse early, not late
        return header

    def _open(self, convert: pa_csv.ConvertOptions, handler: Any) -> pa_csv.CSVStreamingReader:
        try:
            return pa_csv.open_csv(
                self.source.path,
                # One thread: the invalid-row handler then learns each record's number.
                read_options=pa_csv.ReadOptions(use_threads=False, block_size=CSV_BLOCK_BYTES),
                parse_options=pa_csv.ParseOptions(
                    newlines_in_values=True, ignore_empty_lines=True, invalid_row_handler=handler
                ),
                convert_options=convert,
            )
        except UnicodeDecodeError as error:
            raise DataContractError(
                f"cannot read {self.source.name}: its header row is not UTF-8 ({error})"
            ) from None
        except pa.ArrowInvalid as error:
            raise DataContractError(f"cannot read {self.source.name}: {error}") from None

    def _invalid(self, row: pa_csv.InvalidRow) -> int:
        """Record an invalid record; refuse the file if it is an unterminated quote."""
        if row.number is None:  # only a multi-threaded read leaves it unknown
            raise RuntimeError(f"{self.source.name}: a CSV row came without its number")
        number = row.number - 1  # the handler counts the header as row 1
        text = row.text
        if text.count('"') % 2:
            raise DataContractError(
                f"cannot read {self.source.name}: row {number} opens a quoted field that "
                "never closes (an unescaped '\"'; inside quotes a quote is written '\"\"')"
            )
        self._reject(number, RAGGED_RECORD, text)
        return number

    def _text_batch(
        self, batch: pa.RecordBatch, wanted: list[str], numbers: ArrowArray
    ) -> pa.RecordBatch:
        columns = [batch.column(name) for name in wanted]
        texts, bad = _as_text(columns)
        if bad:
            for position in sorted(bad):
                fields = [column[position].as_py() for column in columns]
                raw = ",".join(
                    "" if value is None else value.decode("utf-8", "backslashreplace")
                    for value in fields
                )
                self._reject(int(numbers[position].as_py()), INVALID_UTF8, raw)
            keep = pa.array([position not in bad for position in range(len(numbers))])
            texts = [text.filter(keep) for text in texts]
            numbers = numbers.filter(keep)
        return pa.record_batch([*texts, numbers], schema=_text_schema(wanted))


def _read_all(reader: pa_csv.CSVStreamingReader, name: str) -> Iterator[pa.RecordBatch]:
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as error:
            raise DataContractError(f"cannot read {name}: {error}") from None
        yield batch


def _record_numbers(rows_before: int, rows: int, skipped: Sequence[int]) -> ArrowArray:
    """The record numbers of the next `rows` valid records, the first `rows_before` valid
    ones being numbered already and `skipped` holding every invalid record's number
    (ascending). The valid records are the numbers 1, 2, 3... that are not skipped: the
    first is found by stepping past each skipped number, then they count up by one in
    the gaps between skipped numbers (work that grows with the invalid records only)."""
    number = rows_before + 1
    for invalid in skipped:
        if invalid <= number:
            number += 1
    runs: list[ArrowArray] = []
    left = rows
    for invalid in skipped:
        if invalid < number:
            continue
        run = min(invalid - number, left)
        runs.append(_counting(number, run))
        left -= run
        number = invalid + 1
    runs.append(_counting(number, left))
    numbers: ArrowArray = pa.concat_arrays(runs)
    return numbers


def _counting(first: int, count: int) -> ArrowArray:
    """`first`, `first + 1`, ... (`count` numbers), computed by Arrow."""
    ones = pa.repeat(pa.scalar(1, pa.int64()), count)
    numbers: ArrowArray = pc.add(pc.cumulative_sum(ones), pa.scalar(first - 1, pa.int64()))
    return numbers


def _as_text(columns: Sequence[ArrowArray]) -> tuple[list[ArrowArray], set[int]]:
    """Binary fields as UTF-8 text, and the rows holding bytes that are not UTF-8."""
    bad: set[int] = set()
    texts: list[ArrowArray] = []
    for column in columns:
        try:
            texts.append(column.cast(TEXT))
        except pa.ArrowInvalid:  # rare: find the rows in Python, then keep the others' text
            decoded = []
            for position, value in enumerate(column.to_pylist()):
                try:
                    decoded.append(None if value is None else value.decode("utf-8"))
                except UnicodeDecodeError:
                    bad.add(position)
                    decoded.append(None)
            texts.append(pa.array(decoded, TEXT))
    return texts, bad


def _text_schema(names: Sequence[str]) -> pa.Schema:
    fields: list[ArrowField] = [pa.field(name, TEXT) for name in names]
    return pa.schema([*fields, pa.field(SOURCE_ROW, pa.int64())])


class _JsonDecoder(_Decoder):
    """JSON Lines in UTF-8: one JSON object per line; blank lines are not records, and a
    record's number is its line. Keys the contract does not declare are ignored; a value
    becomes its text (a string as is, a number in shortest decimal form, true or false,
    an object or array as compact JSON), then the grammar applies like any text."""

    def __init__(self, source: SourceFile, contract: DatasetContract) -> None:
        super().__init__(source, contract)
        self._seen: dict[str, None] = {}  # declared keys some record has, first seen first

    @property
    def fields(self) -> list[str]:
        """The declared keys some record holds."""
        return list(self._seen)

    def _schema(self) -> pa.Schema:
        return _text_schema(self.declared)

    def _batches(self) -> Iterator[pa.RecordBatch]:
        first_line = 1
        for chunk in _line_chunks(self.source.path):
            offsets = _record_lines(chunk)
            fast = self._fast(chunk, len(offsets)) if offsets is not None else None
            if fast is None or offsets is None:
                decoded = self._slow(chunk.split(b"\n"), first_line)
            else:
                decoded = _JsonColumns(fast.values, offsets)
            for name in self.declared:
                if name in decoded.values:
                    self._seen.setdefault(name)
            rows = len(decoded.lines)
            texts = [decoded.values.get(name, pa.nulls(rows, TEXT)) for name in self.declared]
            numbers = pc.add(decoded.lines, pa.scalar(first_line, pa.int64()))
            first_line += chunk.count(b"\n") + (0 if chunk.endswith(b"\n") else 1)
            yield pa.record_batch([*texts, numbers], schema=self._schema())

    def _fast(self, chunk: bytes, records: int, splits: int = MIXED_SPLITS) -> _JsonColumns | None:
        """pyarrow's C++ reader, when every line is an object and every declared value is
        a scalar it did not reinterpret; None sends the chunk to the exact slow path."""
        temporal_names = [
            column.name
            for column in self.contract.columns
            if column.type in (ColumnType.DATE, ColumnType.TIMESTAMP)
        ]
        temporal = [pa.field(name, TEXT) for name in temporal_names]
        try:
            table = pa_json.read_json(
                io.BytesIO(chunk),
                read_options=pa_json.ReadOptions(block_size=max(len(chunk), 1 << 20)),
                # It would read date-like text as timestamps: keep those columns text.
                parse_options=pa_json.ParseOptions(explicit_schema=pa.schema(temporal)),
            )
        except pa.ArrowInvalid as error:
            mixed = _MIXED_COLUMN.search(str(error))
            if mixed is None or mixed.group(1) not in self.declared or splits == 0:
                return None
            return self._split_by_type(chunk, mixed.group(1), splits - 1)
        except pa.ArrowNotImplementedError:
            return None
        if table.num_rows != records:
            return None
        values: dict[str, ArrowArray] = {}
        for name in self.declared:
            if name not in table.column_names:
                continue
            column = table.column(name).combine_chunks()
            if (
                name in temporal_names
                and not column.null_count < len(column)
                and f'"{name}"'.encode() not in chunk
            ):
                continue  # the explicit schema's column, not a key any record has
            text = _scalar_text(column)
            if text is None:
                return None
            values[name] = text
        return _JsonColumns(values, pa.array([], pa.int64()))

    def _split_by_type(self, chunk: bytes, name: str, splits: int) -> _JsonColumns | None:
        """The chunk's records in two parts, those whose `name` looks like text and the
        others, each read by `_fast`, then put back in line order. The pattern only decides
        the parts: every value still comes from pyarrow's parser, and a part it cannot read
        (the pattern was fooled: a key inside a string or a nested object) sends the whole
        chunk to the slow path."""
        lines = _solid_lines(chunk)
        if lines is None:
            return None
        text_valued = pc.match_substring_regex(lines, rf'"{name}"\s*:\s*"')
        parts: list[tuple[ArrowArray, _JsonColumns]] = []
        for mask in (text_valued, pc.invert(text_valued)):
            part = lines.filter(mask)
            if len(part) == 0:
                continue
            text = "\n".join(str(line) for line in part.to_pylist())
            read = self._fast(text.encode(), len(part), splits)
            if read is None:
                return None
            parts.append((pc.indices_nonzero(mask), read))
        order = pc.sort_indices(pa.concat_arrays([positions for positions, _ in parts]))
        names = {key: None for _, read in parts for key in read.values}
        values = {
            key: pa.concat_arrays(
                [read.values.get(key, pa.nulls(len(positions), TEXT)) for positions, read in parts]
            ).take(order)
            for key in names
        }
        return _JsonColumns(values, pa.array([], pa.int64()))

    def _slow(self, lines: Sequence[bytes], first_line: int) -> _JsonColumns:
        """Line by line in Python: only a chunk holding a malformed line, values of mixed
        types or nested values comes here; values become text as the fast path's do."""
        records: list[dict[str, Any]] = []
        kept: list[int] = []
        for offset, line in enumerate(lines):
            if not line.strip(JSON_WHITESPACE):
                continue
            row = first_line + offset
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError:
                self._reject(row, INVALID_UTF8, line.decode("utf-8", "backslashreplace"))
                continue
            try:
                record = json.loads(text)
            except ValueError:
                self._reject(row, MALFORMED_JSON, text.rstrip("\r"))
                continue
            if not isinstance(record, dict):
                self._reject(row, NOT_A_JSON_OBJECT, text.rstrip("\r"))
                continue
            records.append(record)
            kept.append(offset)
        values = {
            name: _python_text([record.get(name) for record in records])
            for name in self.declared
            if any(name in record for record in records)
        }
        return _JsonColumns(values, pa.array(kept, pa.int64()))


@dataclass(frozen=True)
class _JsonColumns:
    """A chunk's declared values as text, and each record's line offset in the chunk."""

    values: dict[str, ArrowArray]
    lines: ArrowArray


def _line_chunks(path: Path) -> Iterator[bytes]:
    """The file in chunks of whole lines (a chunk ends after a newline, or at the end)."""
    with path.open("rb") as handle:
        carry = b""
        while block := handle.read(JSON_CHUNK_BYTES):
            block = carry + block
            cut = block.rfind(b"\n") + 1
            if cut == 0:
                carry = block  # one line longer than a chunk: read on
                continue
            carry = block[cut:]
            yield block[:cut]
        if carry:
            yield carry


def _record_lines(chunk: bytes) -> ArrowArray | None:
    """Offsets (0-based) of the chunk's lines that hold something besides whitespace;
    None when a line is not UTF-8 (the exact path finds which)."""
    lines = _text_lines(chunk)
    if lines is None:
        return None
    offsets: ArrowArray = pc.indices_nonzero(_solid(lines)).cast(pa.int64())
    return offsets


def _solid_lines(chunk: bytes) -> ArrowArray | None:
    """The chunk's lines that hold something besides whitespace, in order; None when a line
    is not UTF-8."""
    lines = _text_lines(chunk)
    return None if lines is None else lines.filter(_solid(lines))


def _text_lines(chunk: bytes) -> ArrowArray | None:
    """The chunk's lines as text (None when one is not UTF-8)."""
    pieces = pc.split_pattern(pa.array([chunk], pa.binary()), pattern="\n")
    lines = pc.list_flatten(pieces)
    if chunk.endswith(b"\n"):
        lines = lines.slice(0, len(lines) - 1)  # what follows the last newline: nothing
    try:
        text: ArrowArray = lines.cast(TEXT)
    except pa.ArrowInvalid:
        return None
    return text


def _solid(lines: ArrowArray) -> ArrowArray:
    trimmed: ArrowArray = pc.utf8_trim(lines, characters=JSON_SPACES)
    solid: ArrowArray = pc.not_equal(trimmed, pa.scalar("", TEXT))
    return solid


def _scalar_text(column: ArrowArray) -> ArrowArray | None:
    """A JSON column as the text of each value, or None when only the slow path can say
    it exactly: nested values, bytes that are not UTF-8, or whole numbers past 2**53 that
    pyarrow held as doubles (their digits would be lost)."""
    kind = column.type
    if pa.types.is_null(kind):
        return pa.nulls(len(column), TEXT)
    if pa.types.is_boolean(kind):
        words: ArrowArray = pc.if_else(column, "true", "false").cast(TEXT)
        return words
    if pa.types.is_float64(kind):
        exact = pc.or_kleene(pc.less(pc.abs(column), pa.scalar(float(2**53))), pc.is_nan(column))
        if pc.all(exact).as_py() is False:
            return None
    elif not (
        pa.types.is_int64(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind)
    ):
        return None
    text: ArrowArray = column.cast(TEXT)
    try:
        text.validate(full=True)  # pyarrow's JSON reader does not check UTF-8 itself
    except pa.ArrowInvalid:
        return None
    return text


def _python_text(values: Sequence[Any]) -> ArrowArray:
    """JSON values decoded by Python as the text the fast path gives them: integers in
    exact decimal digits, other numbers through the same Arrow cast of a double."""
    fractions = [value for value in values if isinstance(value, float)]
    fraction_text = iter(pa.array(fractions, pa.float64()).cast(TEXT).to_pylist())
    texts: list[str | None] = []
    for value in values:
        if value is None or isinstance(value, str):
            texts.append(value)
        elif isinstance(value, bool):
            texts.append("true" if value else "false")
        elif isinstance(value, int):
            texts.append(str(value))
        elif isinstance(value, float):
            texts.append(next(fraction_text))
        else:
            texts.append(json.dumps(value, separators=(",", ":"), ensure_ascii=False))
    return pa.array(texts, TEXT)
