"""Conforming one source file to the contract: which columns it has, how each is read, and
the expressions that turn them into the declared types.

`plan_file` decides from the file's Arrow schema alone, before any row is read, so every
engine refuses the same files for the same reasons: a missing required column, or a typed
column that cannot hold the declared type (a Parquet float where the contract says
boolean). `conform` then turns text into values with the grammar (`grammar.py`), applies
the NaN/infinity policy to typed floats, and keeps the source's text of every value that
did not convert in `_raw:<column>`, from which the validator reports `TYPE_MISMATCH:<column>`.

The result holds each declared column in a value of its type, except dates and timestamps
read from text (or absent), which are still days and microseconds since the epoch: each
engine turns them into its own date and timestamp types (`TemporalEncoding`), and sets its
own physical types, in `engines/<engine>_engine.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import narwhals as nw
import pyarrow as pa
from narwhals.typing import FrameT

from ..errors import DataContractError
from ..pipeline.contract import Column, ColumnType, DatasetContract
from .columns import raw_column
from .grammar import WHITESPACE, Parsing, only_where, parsing


class Arrival(Enum):
    """How a declared column arrives in one file."""

    TEXT = "text"  # CSV, JSON Lines, or a Parquet string column: the grammar reads it
    TYPED = "typed"  # a Parquet column of a type that holds the declared one
    ABSENT = "absent"  # not in the file (an optional column), or a column of nulls only


class TemporalEncoding(Enum):
    """What a date or timestamp column holds when `conform` is done."""

    EPOCH = "epoch"  # int64 days (DATE) or microseconds (TIMESTAMP) since 1970-01-01 UTC
    NATIVE = "native"  # the file's own date or timestamp type, any unit or time zone


@dataclass(frozen=True)
class ColumnPlan:
    """One declared column in one file."""

    column: Column
    arrival: Arrival

    @property
    def temporal(self) -> TemporalEncoding | None:
        """For a date or timestamp column, what `conform` leaves in it."""
        if self.column.type not in (ColumnType.DATE, ColumnType.TIMESTAMP):
            return None
        if self.arrival is Arrival.TYPED:
            return TemporalEncoding.NATIVE
        return TemporalEncoding.EPOCH


@dataclass(frozen=True)
class FilePlan:
    """How one file's columns become the contract's, decided before reading it."""

    file: str
    columns: tuple[ColumnPlan, ...]

    @property
    def fallible(self) -> frozenset[str]:
        """The columns whose `_raw:<column>` may hold text in this file: text of a type other
        than string, and floats that must be finite (every other raw column is null)."""
        return frozenset(
            plan.column.name
            for plan in self.columns
            if plan.column.type is not ColumnType.STRING
            and (
                plan.arrival is Arrival.TEXT
                or (
                    plan.arrival is Arrival.TYPED
                    and plan.column.type is ColumnType.FLOAT
                    and not plan.column.allow_non_finite
                )
            )
        )

    @property
    def read(self) -> tuple[str, ...]:
        """The file's columns an engine reads (declared ones present in the file)."""
        return tuple(p.column.name for p in self.columns if p.arrival is not Arrival.ABSENT)

    def conform(self, frame: FrameT) -> FrameT:
        """Declared columns in declared order, each converted, then `_raw:<column>` for
        every non-string column, then the frame's other columns (coordinates)."""
        declared = {plan.column.name for plan in self.columns}
        others = [name for name in frame.columns if name not in declared]
        typed = [plan for plan in self.columns if plan.column.type is not ColumnType.STRING]
        text = [plan for plan in typed if plan.arrival is Arrival.TEXT]
        parsings = {plan.column.name: parsing(plan.column.name, plan.column) for plan in text}
        # The text is kept before anything converts it, and the grammar's steps run in
        # order, each step of every column in one pass.
        if text:
            frame = frame.with_columns(
                nw.col(plan.column.name).alias(raw_column(plan.column.name)) for plan in text
            )
        for step in range(max((len(p.steps) for p in parsings.values()), default=0)):
            frame = frame.with_columns(
                **{
                    name: expression
                    for parsed in parsings.values()
                    if step < len(parsed.steps)
                    for name, expression in parsed.steps[step].items()
                }
            )
        converted = frame.select(
            *(_converted(plan, parsings.get(plan.column.name)) for plan in self.columns),
            *(_raw_text(plan).alias(raw_column(plan.column.name)) for plan in typed),
            *others,
        )
        if not text:
            return converted
        # Text keeps its raw copy only where it held something that is not a value.
        return converted.with_columns(_unconverted(plan.column.name) for plan in text)


def plan_file(contract: DatasetContract, schema: pa.Schema, file: str) -> FilePlan:
    """Decide how each declared column of `file` (whose Arrow schema is `schema`) is read;
    a data-contract error names the file, the column and the fix when it cannot be."""
    names = schema.names
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise DataContractError(
            f"source file {file!r} has the column(s) {duplicated} more than once: give each "
            "column a unique name in the export"
        )
    missing = [c.name for c in contract.columns if c.required and c.name not in names]
    if missing:
        raise DataContractError(
            f"source file {file!r} lacks required column(s) {missing} declared in contract "
            f"{contract.name!r}: fix the export, or mark the column required=False in contracts/"
        )
    plans = []
    for column in contract.columns:
        arrow_type = schema.field(column.name).type if column.name in names else pa.null()
        plans.append(ColumnPlan(column, _arrival(arrow_type, column, file)))
    return FilePlan(file, tuple(plans))


def plan_text_file(contract: DatasetContract, header: Sequence[str], file: str) -> FilePlan:
    """The plan of a text file (CSV, JSON Lines) whose fields are `header`."""
    schema = pa.schema([(name, pa.large_string()) for name in header])
    return plan_file(contract, schema, file)


def empty_plan(contract: DatasetContract, header: Sequence[str], file: str) -> FilePlan:
    """The plan of a file with no records and no header (an empty export): every column
    absent, none required, since there is nothing to conform."""
    del header
    return FilePlan(file, tuple(ColumnPlan(c, Arrival.ABSENT) for c in contract.columns))


def _arrival(arrow_type: pa.DataType, column: Column, file: str) -> Arrival:
    if pa.types.is_null(arrow_type):
        return Arrival.ABSENT
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if _is_text(arrow_type):
        return Arrival.TEXT
    if _holds(arrow_type, column.type):
        return Arrival.TYPED
    raise DataContractError(
        f"source file {file!r}: column {column.name!r} is {arrow_type}, which cannot hold the "
        f"contract's {column.type.value}: export it as {column.type.value} or as text, or "
        "change the column's type in contracts/"
    )


def _is_text(arrow_type: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_string_view(arrow_type)
    )


def _holds(arrow_type: pa.DataType, target: ColumnType) -> bool:
    """True when a typed column converts to `target` by value, never losing one."""
    integer = pa.types.is_integer(arrow_type) and arrow_type != pa.uint64()
    if target is ColumnType.STRING or target is ColumnType.INTEGER:
        return bool(integer)
    if target is ColumnType.FLOAT:
        return bool(integer or pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type))
    if target is ColumnType.BOOLEAN:
        return bool(pa.types.is_boolean(arrow_type))
    if target is ColumnType.DATE:
        return bool(pa.types.is_date(arrow_type))
    return bool(pa.types.is_timestamp(arrow_type))


# Intermediate types `conform` leaves (dates and timestamps from text: epoch integers).
_CONFORMED_TYPES: dict[ColumnType, nw.dtypes.DType] = {
    ColumnType.STRING: nw.String(),
    ColumnType.INTEGER: nw.Int64(),
    ColumnType.FLOAT: nw.Float64(),
    ColumnType.BOOLEAN: nw.Boolean(),
    ColumnType.DATE: nw.Int64(),
    ColumnType.TIMESTAMP: nw.Int64(),
}


def _converted(plan: ColumnPlan, parsed: Parsing | None) -> nw.Expr:
    column = plan.column
    source = nw.col(column.name)
    if plan.arrival is Arrival.ABSENT:
        value = nw.lit(None, _CONFORMED_TYPES[column.type])
    elif parsed is not None:
        value = parsed.value
    elif plan.arrival is Arrival.TEXT:
        value = source  # a string column's text is its value
    elif column.type is ColumnType.FLOAT:
        number = source.cast(nw.Float64)
        value = number if column.allow_non_finite else _finite(number)
    elif column.type in (ColumnType.STRING, ColumnType.INTEGER):
        value = source.cast(_CONFORMED_TYPES[column.type])
    else:
        value = source  # booleans, and dates and timestamps in the engine's own types
    return value.alias(column.name)


def _finite(number: nw.Expr) -> nw.Expr:
    return nw.when(number.is_finite().fill_null(False)).then(number)


def _raw_text(plan: ColumnPlan) -> nw.Expr:
    """What `_raw:<column>` starts as: the text itself (`_unconverted` keeps it only where
    it failed), the spelling of a refused NaN or infinity, or null."""
    column = plan.column
    source = nw.col(column.name)
    if plan.arrival is Arrival.TEXT:
        return nw.col(raw_column(column.name))
    if plan.arrival is Arrival.TYPED and column.type is ColumnType.FLOAT:
        if column.allow_non_finite:
            return nw.lit(None, nw.String)
        number = source.cast(nw.Float64)
        return _non_finite_text(number)
    return nw.lit(None, nw.String)


def _unconverted(name: str) -> nw.Expr:
    """The raw text where it says something (not blank) and the value is null."""
    raw = nw.col(raw_column(name))
    present = raw.str.strip_chars(WHITESPACE).str.len_chars() > 0
    failed = present.fill_null(False) & nw.col(name).is_null()
    return nw.when(failed).then(raw).alias(raw_column(name))


def _non_finite_text(number: nw.Expr) -> nw.Expr:
    """NaN and infinities spelled one way (engines print them as nan, NaN, Infinity...),
    null for every other value. Only the non-finite values are turned into text: engines
    evaluate an expression on every row, and those are few."""
    odd = only_where(~number.is_finite().fill_null(True), number)
    word = r"[iI][nN][fF](?:[iI][nN][iI][tT][yY])?$"
    return (
        odd.cast(nw.String)
        .str.replace_all(r"^[+-]?[nN][aA][nN]$", "NaN")
        .str.replace_all(rf"^\+?{word}", "inf")
        .str.replace_all(rf"^-{word}", "-inf")
    )
