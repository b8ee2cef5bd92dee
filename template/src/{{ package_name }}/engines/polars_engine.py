"""The Polars engine: every stage in native Polars expressions.

Frames are LazyFrames. Extraction plans the conformed scan (values that do not parse become
null and are flagged for quarantine as `TYPE_MISMATCH:<column>`) and counts rows from file
metadata. The transform stage executes the scan and the team's transformations as one plan
on the streaming engine (measured faster than in-memory for this job, at 0.7x the memory,
with the same ordered result), so reading time shows in the transform span. Rules compile
to one vectorised pass; valid rows stream from memory into the partitioned Parquet sink
without another copy.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from ..errors import DataContractError, TransientError
from ..pipeline.contract import ColumnType, DatasetContract
from ..pipeline.stages import (
    Batch,
    CommittedOutput,
    Extracted,
    QuarantineOutput,
    StagedOutput,
    Validated,
)
from ..sinks.local_dataset import LocalSnapshotDataset, StagedSnapshot
from ..sources.local_files import SourceFile
from ..validation.model import (
    AcceptedValues,
    Check,
    InRange,
    MatchesPattern,
    NotNull,
    Rule,
    Severity,
    check_rule_set,
    type_mismatch_code,
)

Frame = pl.LazyFrame
HIVE_NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
SOURCE_FILE = "_source_file"
SOURCE_ROW = "_source_row"
MISMATCH_PREFIX = "_type_mismatch:"
REASONS = "_reasons"
RUN_ID = "_run_id"
COORDINATES = (SOURCE_FILE, SOURCE_ROW)
SOURCE_PARTITION = "source_partition"  # the partition a row's file belongs to, when named

POLARS_TYPES: dict[ColumnType, pl.DataType] = {
    ColumnType.STRING: pl.String(),
    ColumnType.INTEGER: pl.Int64(),
    ColumnType.FLOAT: pl.Float64(),
    ColumnType.BOOLEAN: pl.Boolean(),
    ColumnType.DATE: pl.Date(),
    ColumnType.TIMESTAMP: pl.Datetime("us", "UTC"),
}


# ---------------------------------------------------------------------------------------------
# Extract
# ---------------------------------------------------------------------------------------------
class PolarsFileExtractor:
    """Reads CSV, JSON Lines and Parquet files, conformed to the contract, with coordinates."""

    def __init__(self, files: Sequence[SourceFile], contract: DatasetContract) -> None:
        self.files = tuple(files)
        self.contract = contract

    def extract(self) -> Extracted[Frame]:
        """Plan the read; coordinates are the file and the 1-based record number in it."""
        file_names = [str(source.path) for source in self.files]
        file_dtype = pl.Enum(file_names)
        partitioned = any(source.partition is not None for source in self.files)
        frames = [self._conformed(source, file_dtype, partitioned) for source in self.files]
        mismatch_columns = sorted(
            {name for frame in frames for name in frame.collect_schema() if _is_mismatch(name)}
        )
        # Every frame gets every flag column, so the vertical concat lines up.
        aligned = [
            frame.with_columns(
                pl.lit(False).alias(name)
                for name in mismatch_columns
                if name not in frame.collect_schema()
            ).select(pl.exclude(mismatch_columns), *mismatch_columns)
            for frame in frames
        ]
        frame = pl.concat(aligned, how="vertical")
        rows = _collect(frame.select(pl.len()), f"source files {', '.join(file_names)}").item()
        return Extracted(frame=frame, rows=int(rows), sources=tuple(file_names))

    def _conformed(
        self, source: SourceFile, file_dtype: pl.Enum, partitioned: bool
    ) -> pl.LazyFrame:
        raw = _scan(source, self.contract)
        try:
            present = raw.collect_schema()
        except pl.exceptions.PolarsError as error:
            raise DataContractError(f"cannot read {source.path}: {error}") from None
        missing = [c.name for c in self.contract.columns if c.required and c.name not in present]
        if missing:
            raise DataContractError(
                f"source file {str(source.path)!r} lacks required column(s) {missing} declared "
                f"in contract {self.contract.name!r}: fix the export, or mark the column "
                "required=False in contracts/"
            )
        columns: list[pl.Expr] = []
        flags: list[pl.Expr] = []
        for column in self.contract.columns:
            target = POLARS_TYPES[column.type]
            if column.name not in present:
                columns.append(pl.lit(None, dtype=target).alias(column.name))
                continue
            source_dtype = present[column.name]
            if source_dtype == target:
                columns.append(pl.col(column.name))
                continue
            parsed = _parse(pl.col(column.name), source_dtype, column.type).alias(column.name)
            columns.append(parsed)
            flags.append(
                (pl.col(column.name).is_not_null() & parsed.is_null()).alias(
                    MISMATCH_PREFIX + column.name
                )
            )
        if partitioned:
            columns.append(pl.lit(source.partition, dtype=pl.Date).alias(SOURCE_PARTITION))
        return raw.with_row_index(SOURCE_ROW, offset=1).select(
            *columns,
            pl.lit(str(source.path), dtype=file_dtype).alias(SOURCE_FILE),
            pl.col(SOURCE_ROW),
            *flags,
        )


def _scan(source: SourceFile, contract: DatasetContract) -> pl.LazyFrame:
    """A lazy scan in the file's own types (CSV as text, so nothing is guessed)."""
    path = source.path
    if source.format == "csv":
        return pl.scan_csv(path, infer_schema=False, truncate_ragged_lines=True)
    if source.format == "jsonl":
        # Declared columns as text: the contract types are applied uniformly afterwards.
        present = pl.scan_ndjson(path, infer_schema_length=1000).collect_schema()
        schema = {name: pl.String() for name in contract.column_names if name in present}
        return pl.scan_ndjson(path, schema=schema)
    return pl.scan_parquet(path)


def _parse(value: pl.Expr, source_dtype: pl.DataType, target: ColumnType) -> pl.Expr:
    """Convert a column to its declared type; anything that does not convert becomes null."""
    if source_dtype == pl.String:
        text = value.str.strip_chars()
        if target is ColumnType.TIMESTAMP:
            return text.str.to_datetime(format="%+", time_unit="us", time_zone="UTC", strict=False)
        if target is ColumnType.DATE:
            return text.str.to_date(format="%Y-%m-%d", strict=False)
        if target is ColumnType.BOOLEAN:
            lowered = text.str.to_lowercase()
            return (
                pl.when(lowered.is_in(["true", "1", "yes"]))
                .then(True)
                .when(lowered.is_in(["false", "0", "no"]))
                .then(False)
            )
        return text.cast(POLARS_TYPES[target], strict=False)
    if target is ColumnType.TIMESTAMP and isinstance(source_dtype, pl.Datetime):
        in_utc = (
            value.dt.replace_time_zone("UTC")
            if source_dtype.time_zone is None
            else value.dt.convert_time_zone("UTC")
        )
        return in_utc.dt.cast_time_unit("us")
    return value.cast(POLARS_TYPES[target], strict=False)


def _is_mismatch(column: str) -> bool:
    return column.startswith(MISMATCH_PREFIX)


# ---------------------------------------------------------------------------------------------
# Transform
# ---------------------------------------------------------------------------------------------
class PolarsTransformer:
    """Runs the team's lazy transformation function and materialises the result."""

    def __init__(self, function: Callable[[pl.LazyFrame], pl.LazyFrame]) -> None:
        self.function = function

    def transform(self, batch: Batch[Frame]) -> Batch[Frame]:
        """Read and transform in one plan; the coordinate columns must survive it."""
        frame = _collect(self.function(batch.frame), "reading and transforming the source")
        lost = [name for name in COORDINATES if name not in frame.columns]
        if lost:
            raise DataContractError(
                f"transforms/ dropped the source coordinate columns {lost}: keep every column "
                "starting with '_' (use with_columns/filter, or select pl.col('^_.*$') too)"
            )
        return Batch(frame=frame.lazy(), rows=frame.height)


def _collect(plan: pl.LazyFrame, what: str) -> pl.DataFrame:
    """Execute a plan, turning engine errors into classified pipeline errors."""
    try:
        return plan.collect(engine="streaming")
    except pl.exceptions.PolarsError as error:
        raise DataContractError(f"{what} failed on this data: {error}") from None
    except OSError as error:
        raise TransientError(f"{what} failed reading a file: {error}") from None


# ---------------------------------------------------------------------------------------------
# Validate
# ---------------------------------------------------------------------------------------------
def violation(check: Check) -> pl.Expr:
    """True where a row breaks the check; nulls pass every check except NotNull."""
    column = pl.col(check.column)
    if isinstance(check, NotNull):
        return column.is_null()
    if isinstance(check, InRange):
        broken = pl.lit(False)
        if check.min is not None:
            broken = broken | (column < check.min)
        if check.max is not None:
            broken = broken | (column > check.max)
        return broken.fill_null(False)
    if isinstance(check, AcceptedValues):
        return (~column.is_in(list(check.values))).fill_null(False)
    if isinstance(check, MatchesPattern):
        return (~column.str.contains(check.pattern)).fill_null(False)
    raise TypeError(f"unknown check {check!r}")


@dataclass(frozen=True)
class _CompiledRule:
    """A rule as a boolean expression: true where the row violates it."""

    code: str
    severity: Severity
    expression: pl.Expr


class PolarsValidator:
    """Evaluates every rule in one vectorised pass and splits the rows."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)

    def validate(self, batch: Batch[Frame]) -> Validated[Frame]:
        """Count violations per reason code, then split valid from quarantined rows."""
        frame = _collect(batch.frame, "validation")  # already in memory: no work
        compiled = self._compile(frame.columns)
        totals = (
            frame.select(rule.expression.sum().alias(rule.code) for rule in compiled).row(0)
            if compiled
            else ()
        )
        violations = {
            rule.code: int(total) for rule, total in zip(compiled, totals, strict=True) if total
        }
        failures = {
            rule.code: violations[rule.code]
            for rule in compiled
            if rule.severity is Severity.FAIL and rule.code in violations
        }
        quarantining = [rule for rule in compiled if rule.severity is Severity.QUARANTINE]
        is_quarantined = (
            pl.any_horizontal(rule.expression for rule in quarantining)
            if quarantining
            else pl.lit(False)
        )
        mismatch_flags = [name for name in frame.columns if _is_mismatch(name)]
        # Valid rows stay a plan: the sink streams them out of memory without a copy.
        valid = frame.lazy().filter(~is_quarantined).drop(*mismatch_flags, *COORDINATES)
        quarantined = frame.filter(is_quarantined)
        if quarantining:
            reasons = pl.concat_list(
                pl.when(rule.expression).then(pl.lit(rule.code)) for rule in quarantining
            ).list.drop_nulls()
            quarantined = quarantined.with_columns(reasons.alias(REASONS))
        quarantined = quarantined.drop(*mismatch_flags)
        return Validated(
            valid=Batch(valid, frame.height - quarantined.height),
            quarantined=Batch(quarantined.lazy(), quarantined.height),
            violations=violations,
            failures=failures,
        )

    def _compile(self, columns: Sequence[str]) -> list[_CompiledRule]:
        data_columns = [name for name in columns if not name.startswith("_")]
        try:
            check_rule_set(self.rules, data_columns)
        except ValueError as error:
            raise DataContractError(f"validation/rules.py: {error}") from None
        compiled = [
            _CompiledRule(rule.code, rule.severity, violation(rule.check)) for rule in self.rules
        ]
        compiled += [
            _CompiledRule(
                type_mismatch_code(name.removeprefix(MISMATCH_PREFIX)),
                Severity.QUARANTINE,
                pl.col(name),
            )
            for name in columns
            if _is_mismatch(name)
        ]
        return compiled


# ---------------------------------------------------------------------------------------------
# Load
# ---------------------------------------------------------------------------------------------
class PolarsParquetLoader:
    """Writes valid rows as a hive-partitioned Parquet snapshot of a local dataset.

    A full run rewrites every partition it has rows for. A run for one source partition
    (`replaces`) rewrites only that source partition's rows: in each affected output
    partition it keeps the rows other source partitions wrote, so reruns and backfills are
    idempotent and never lose another day's late arrivals.
    """

    def __init__(
        self,
        dataset: LocalSnapshotDataset,
        *,
        partition_by: str,
        replaces: date | None = None,
    ) -> None:
        self.dataset = dataset
        self.partition_by = partition_by
        self.replaces = replaces
        self._staged: dict[str, StagedSnapshot] = {}

    @property
    def location(self) -> str:
        """Readers read `<root>/current`."""
        return str(self.dataset.current)

    def stage(self, batch: Batch[Frame], run_id: str) -> StagedOutput:
        """Write the partitions into staging and count the rows actually on disk."""
        if self.partition_by not in batch.frame.collect_schema():
            raise DataContractError(
                f"partition column {self.partition_by!r} is missing after transforms: derive it "
                "in transforms/ or change partition_by in contracts/"
            )
        staged = self.dataset.begin(run_id)
        try:
            frame, kept_rows, rewritten = self._merged_with_current(batch.frame)
            frame.sink_parquet(pl.PartitionBy(staged.path, key=self.partition_by))
            written = self.dataset.carry_over(staged, rewritten=rewritten)
            self._refuse_null_partition(written)
            files = [path for name in written for path in (staged.path / name).glob("*.parquet")]
            on_disk = pl.scan_parquet(files).select(pl.len()).collect().item() if files else 0
        except BaseException:
            self.dataset.abort(staged)
            raise
        self._staged[run_id] = staged
        return StagedOutput(
            rows=on_disk - kept_rows, partitions=written, staging_location=str(staged.path)
        )

    def _merged_with_current(self, new: Frame) -> tuple[Frame, int, frozenset[str]]:
        """For a source-partition run: new rows plus the rows to keep in the partitions they
        touch, the count of kept rows, and every output partition being rewritten."""
        current = self.dataset.current_snapshot()
        if self.replaces is None or current is None or not any(current.iterdir()):
            return new, 0, frozenset()
        old = pl.scan_parquet(current, hive_partitioning=True)
        if SOURCE_PARTITION not in old.collect_schema():
            is_replaced = pl.lit(False)
        else:
            is_replaced = pl.col(SOURCE_PARTITION).eq_missing(pl.lit(self.replaces))
        key = pl.col(self.partition_by)
        touched = pl.concat(
            [
                old.filter(is_replaced).select(key.unique()),
                new.select(key.unique()),
            ]
        ).unique()
        touched_values = _collect(touched, "finding the partitions to rewrite").to_series()
        kept = old.filter(key.is_in(touched_values.implode()) & ~is_replaced)
        kept_rows = int(_collect(kept.select(pl.len()), "reading the current snapshot").item())
        merged = pl.concat([kept, new], how="diagonal_relaxed")
        if SOURCE_PARTITION in merged.collect_schema():
            # One fixed order, whichever partition ran last: reruns stay byte-identical.
            merged = merged.sort(SOURCE_PARTITION, maintain_order=True, nulls_last=True)
        rewritten = frozenset(
            f"{self.partition_by}={_hive_value(value)}" for value in touched_values.to_list()
        )
        return merged, kept_rows, rewritten

    def _refuse_null_partition(self, partitions: Sequence[str]) -> None:
        if f"{self.partition_by}={HIVE_NULL_PARTITION}" in partitions:
            raise DataContractError(
                f"some rows have no value in partition column {self.partition_by!r}: add a "
                "NotNull rule for the column it is derived from in validation/rules.py"
            )

    def commit(self, staged: StagedOutput) -> CommittedOutput:
        """Switch readers to the new snapshot in one atomic step."""
        snapshot = self.dataset.commit(self._staged.pop(_run_id_of(staged)))
        return CommittedOutput(
            rows=staged.rows,
            partitions=staged.partitions,
            location=self.location,
            snapshot=str(snapshot),
        )

    def abort(self, staged: StagedOutput) -> None:
        """Throw the staged snapshot away."""
        self.dataset.abort(self._staged.pop(_run_id_of(staged)))


def _hive_value(value: object) -> str:
    return HIVE_NULL_PARTITION if value is None else str(value)


def _run_id_of(staged: StagedOutput) -> str:
    return Path(staged.staging_location).name


class PolarsQuarantineWriter:
    """Writes a run's rejected rows to `<runs_dir>/<run_id>/quarantine.parquet`."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = runs_dir

    def write(self, batch: Batch[Frame], run_id: str) -> QuarantineOutput:
        """Write atomically (temporary file, then rename)."""
        target = self.runs_dir / run_id / "quarantine.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        frame = _collect(
            batch.frame.with_columns(
                pl.col(SOURCE_FILE).cast(pl.String), pl.lit(run_id).alias(RUN_ID)
            ),
            "quarantine",
        )
        with tempfile.NamedTemporaryFile(
            dir=target.parent, prefix=".quarantine.", suffix=".parquet", delete=False
        ) as handle:
            temporary = Path(handle.name)
        try:
            frame.write_parquet(temporary)
            temporary.replace(target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return QuarantineOutput(rows=frame.height, location=str(target))
