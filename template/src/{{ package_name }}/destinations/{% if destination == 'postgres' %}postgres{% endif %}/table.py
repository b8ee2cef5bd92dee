"""A PostgreSQL table as the destination, written in one transaction per run.

The engine writes the run's rows, one row per key, as flat Parquet files into a local spool
folder (`begin`); `commit` then opens ONE transaction that:

1. takes an advisory lock on the table, so two runs never merge at once;
2. creates the schema and table when missing (column types from the staged files' Arrow
   schema, primary key = the contract's key), or applies the schema policy to new columns
   (`evolve` adds them, `freeze` fails naming the column, before anything is written);
3. COPYs the staged rows into a temporary table, checks the row count against the files,
   and refuses a key staged twice (naming the key column);
4. merges by the one rule of `semantics/merge.py`: deletes the committed rows the run
   replaces (`replaced_rows`) whose key it no longer delivers, then upserts on the key
   (`INSERT .. ON CONFLICT DO UPDATE`), updating a committed row only when it does not
   outrank the delivered one (`committed_row_wins`) and differs from it (`row_differs`);
5. records the run in `<schema>.<table>_commits` (the commit log) with the source state it
   advances to (an incremental source's; refused if another run advanced it meanwhile),
   then commits. A run that changes nothing (no row, column or source state) commits
   nothing: the commit log, like the rows, is left as it was.

Readers see the table before or after a run, never between. A killed run leaves at most a
spool folder, swept by the next run, and an aborted transaction the server rolls back. A
whole commit is retried (it is idempotent) when the connection drops or the server is
restarting; anything else fails at once with its error class.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter
from psycopg.errors import UniqueViolation
from psycopg.types.json import Jsonb
from pydantic import SecretStr

from ... import postgres_connection
from ...credentials import resolve_secret
from ...errors import ConfigurationError, DataContractError, PipelineError, TransientError
from ...pipeline.contract import DatasetContract
from ...pipeline.retries import call_with_retries
from ...semantics import merge
from ...semantics.columns import SOURCE_PARTITION
from ...sources.selection import SourceState, StateAdvance
from ...spool import OwnedFolder, open_owned_folder, sweep_abandoned
from ..protocol import Replacement, StagedRows
from ..staged_files import parquet_files
from .configuration import DestinationSettings

logger = logging.getLogger(__name__)

SPOOL = "_spool"
BATCH_ROWS = 128 * 1024
# The merge statements' names for the table's rows and the run's rows (the SQL of
# `semantics/merge.py` is written against two aliases); an upsert's delivered row is
# PostgreSQL's `EXCLUDED`.
COMMITTED = "committed"
DELIVERED = "delivered"
PROPOSED = "EXCLUDED"


def open_destination(
    settings: DestinationSettings,
    *,
    contract: DatasetContract,
    runs_dir: Path,
    replaces: Replacement,
    advance: StateAdvance | None = None,
) -> PostgresTableDestination:
    """The table `settings` name, merged on the contract's key; `replaces`: the committed
    rows a run replaces; `advance`: the source state its transaction commits."""
    spool_root = settings.spool_dir or runs_dir / SPOOL
    if spool_root.is_dir():
        # Spools of killed runs go now, not at the next `begin`: a run with nothing new
        # (an incremental source) never begins one.
        sweep_abandoned(spool_root)
    return PostgresTableDestination(
        settings,
        key=contract.key,
        partition_by=contract.partition_by,
        spool_root=spool_root,
        replaces=replaces,
        advance=advance,
    )


def read_source_state(settings: DestinationSettings, *, runs_dir: Path) -> SourceState | None:
    """The source state the last commit that recorded one advanced to (None: none did)."""
    del runs_dir
    try:
        password = resolve_secret(
            settings.password, settings.password_secret, setting="destination.password"
        )
        return call_with_retries(
            lambda: _read_source_state_once(settings, password),
            what=f"reading the source state from {settings.location}",
            is_transient=_is_transient,
        )
    except psycopg.Error as error:
        raise classify(error, settings.location) from None


def _read_source_state_once(
    settings: DestinationSettings, password: SecretStr | None
) -> SourceState | None:
    commits = sql.Identifier(settings.schema_name, settings.commits_table)
    with connect(settings, password) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", (commits.as_string(connection),))
        row = cursor.fetchone()
        if row is None or row[0] is None:
            return None
        return _latest_source_state(cursor, commits)


def _latest_source_state(
    cursor: psycopg.Cursor[Any], commits: sql.Identifier
) -> SourceState | None:
    cursor.execute(
        sql.SQL(
            "SELECT source_state FROM {} WHERE source_state IS NOT NULL "
            "ORDER BY commit_id DESC LIMIT 1"
        ).format(commits)
    )
    row = cursor.fetchone()
    return None if row is None else dict(row[0])


class PostgresTableDestination:
    """Spools a run's rows locally, then COPYs and merges them in one transaction."""

    def __init__(
        self,
        settings: DestinationSettings,
        *,
        key: Sequence[str],
        partition_by: str,
        spool_root: Path,
        replaces: Replacement,
        advance: StateAdvance | None = None,
    ) -> None:
        if not key:
            raise ConfigurationError("the contract has no key: PostgreSQL merges rows by key")
        for column in key:
            _require_identifier(column, f"key column {column!r}")
        _require_identifier(partition_by, f"partition column {partition_by!r}")
        self.settings = settings
        self.key = tuple(key)
        self.partition_by = partition_by
        self.spool_root = spool_root
        self.replaces = replaces
        self.advance = advance
        self._spools: dict[str, OwnedFolder] = {}

    @property
    def location(self) -> str:
        """`postgresql://host:port/db/schema.table`, without credentials."""
        return self.settings.location

    def begin(self, run_id: str) -> StagedRows:
        """Sweep spools of dead runs, then open this run's spool folder (locked while alive)."""
        spool = open_owned_folder(self.spool_root, run_id)
        self._spools[run_id] = spool
        return StagedRows(run_id=run_id, path=spool.path)

    def commit(self, staged: StagedRows, written: Sequence[object]) -> str:
        """Merge the spooled rows (whose output partitions are `written`) in one transaction.

        Returns `<schema>.<table>@<run_id>`, the run the table's commit log now ends with
        (this run's, or the last one's when this one changed nothing): a reader knows the
        table changed when it changes."""
        try:
            files = read_staged(staged.path)
            password = resolve_secret(
                self.settings.password,
                self.settings.password_secret,
                setting="destination.password",
            )
            latest = call_with_retries(
                lambda: self._merge_once(files, staged.run_id, tuple(written), password),
                what=f"committing to {self.location}",
                is_transient=_is_transient,
            )
        except psycopg.Error as error:
            raise classify(error, self.location) from None
        finally:
            self._drop_spool(staged)
        return f"{self.settings.schema_name}.{self.settings.table}@{latest}"

    def abort(self, staged: StagedRows) -> None:
        """Drop the spool; the table is untouched (nothing was sent to it)."""
        self._drop_spool(staged)

    def _merge_once(
        self,
        files: StagedFiles,
        run_id: str,
        written: tuple[object, ...],
        password: SecretStr | None,
    ) -> str:
        """One attempt; returns the run the commit log ends with afterwards."""
        started = time.perf_counter()
        with connect(self.settings, password) as connection:
            run = _Merge(connection, self.settings, self, written)
            with connection.transaction():
                run.lock()
                latest = run.prepare_commit_log()
                state = run.source_state_to_commit(self.advance)
                if files.paths:  # none: the run only advances its source's state
                    run.prepare_table(files)
                    run.load(files)
                if latest is not None and not run.changed:
                    raise psycopg.Rollback  # leaves the block: nothing to commit
                run.record(run_id, files, state)
                latest = run_id
        timings = ", ".join(f"{step} {seconds:.2f}s" for step, seconds in run.timings.items())
        elapsed = time.perf_counter() - started
        if latest == run_id:
            logger.info(
                "committed %d rows to %s in %.2fs (%s)", files.rows, self.location, elapsed, timings
            )
        else:
            logger.info(
                "nothing in %s changed: nothing committed (%.2fs: %s)",
                self.location,
                elapsed,
                timings,
            )
        return latest

    def _drop_spool(self, staged: StagedRows) -> None:
        spool = self._spools.pop(staged.run_id, None)
        if spool is not None:
            spool.release()


# ---------------------------------------------------------------------------------------------
# The spool: what the engine wrote, read back as Arrow
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StagedFiles:
    """The spooled rows: their Parquet files, one Arrow schema for all, and how many rows."""

    paths: tuple[Path, ...]
    schema: pa.Schema
    rows: int

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Every row, in the schema's column order, a bounded batch at a time."""
        for path in self.paths:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS):
                yield _conform(batch, self.schema)


def read_staged(folder: Path) -> StagedFiles:
    """The Parquet files under `folder`, their schema and row count (footers only).

    Writers may split a run into files whose columns differ: in order, in a column one file
    lacks (nulls there), or in its type (an all-null column has none); each column gets the
    one type that holds every file's values.
    """
    paths = parquet_files(folder)
    schemas: list[pa.Schema] = []
    rows = 0
    for path in paths:
        parquet = pq.ParquetFile(path)
        rows += parquet.metadata.num_rows
        schemas.append(parquet.schema_arrow)
    try:
        schema = pa.unify_schemas(schemas, promote_options="permissive") if schemas else None
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as error:
        raise DataContractError(f"the staged files disagree on a column's type: {error}") from None
    unified = pa.schema([]) if schema is None else schema.remove_metadata()
    for field in unified:
        _require_identifier(field.name, f"column {field.name!r}")
    return StagedFiles(tuple(paths), unified, rows)


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """`batch` with every column of `schema`, in order, of its type (nulls for a column this
    file lacks)."""
    columns = []
    for field in schema:
        if field.name in batch.schema.names:
            column = batch.column(field.name)
            columns.append(column if column.type == field.type else column.cast(field.type))
        else:
            columns.append(pa.nulls(batch.num_rows, type=field.type))
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _as_utc_wall_time(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Time-zone-aware timestamps as naive UTC wall time (the same stored values).

    Arrow formats an aware timestamp an order of magnitude slower than a naive one (it
    converts every value through the zone); the session's TimeZone is UTC, so PostgreSQL
    reads the naive text back as the same instant.
    """
    if not any(pa.types.is_timestamp(field.type) and field.type.tz for field in batch.schema):
        return batch
    columns = [
        column.cast(pa.timestamp(column.type.unit))
        if pa.types.is_timestamp(column.type) and column.type.tz
        else column
        for column in batch.columns
    ]
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


# ---------------------------------------------------------------------------------------------
# The transaction
# ---------------------------------------------------------------------------------------------
_ARROW_TO_POSTGRES: tuple[tuple[Any, str], ...] = (
    (pa.types.is_boolean, "boolean"),
    (pa.types.is_int8, "smallint"),
    (pa.types.is_int16, "smallint"),
    (pa.types.is_uint8, "smallint"),
    (pa.types.is_int32, "integer"),
    (pa.types.is_uint16, "integer"),
    (pa.types.is_int64, "bigint"),
    (pa.types.is_uint32, "bigint"),
    (pa.types.is_uint64, "numeric(20, 0)"),
    (pa.types.is_float16, "real"),
    (pa.types.is_float32, "real"),
    (pa.types.is_float64, "double precision"),
    (pa.types.is_date, "date"),
    (pa.types.is_time, "time"),
    (pa.types.is_string, "text"),
    (pa.types.is_large_string, "text"),
    (pa.types.is_null, "text"),  # an all-null column: text until a typed value arrives
)


def postgres_type(field: pa.Field[Any]) -> sql.Composable:
    """The column type for an Arrow field; fails naming the column for types not mapped."""
    data_type = field.type
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    if field.name == SOURCE_PARTITION and pa.types.is_null(data_type):
        # A run from undated files: the column still holds dates once dated files arrive,
        # and the merge compares it with date literals.
        return sql.SQL("date")
    if pa.types.is_timestamp(data_type):
        return sql.SQL("timestamptz" if data_type.tz else "timestamp")
    if pa.types.is_decimal(data_type):
        return sql.SQL("numeric({}, {})").format(
            sql.Literal(data_type.precision), sql.Literal(data_type.scale)
        )
    if getattr(pa.types, "is_string_view", lambda _: False)(data_type):
        return sql.SQL("text")
    for matches, name in _ARROW_TO_POSTGRES:
        if matches(data_type):
            return sql.SQL(name)  # the names above are constants, never data
    raise DataContractError(
        f"column {field.name!r} has type {data_type}, which the PostgreSQL destination does "
        "not map: cast it in transforms/ to a string, number, boolean, date or timestamp"
    )


class _Merge:
    """The statements of one commit, on one connection inside one transaction."""

    def __init__(
        self,
        connection: psycopg.Connection[Any],
        settings: DestinationSettings,
        destination: PostgresTableDestination,
        written: tuple[object, ...],
    ) -> None:
        self.connection = connection
        self.settings = settings
        self.key = destination.key
        self.partition_by = destination.partition_by
        self.replaces = destination.replaces
        self.written = written
        self.schema = sql.Identifier(settings.schema_name)
        self.table = sql.Identifier(settings.schema_name, settings.table)
        self.commits = sql.Identifier(settings.schema_name, settings.commits_table)
        self.created = False
        self.changed = False  # rows, columns or the source state: the run has a commit to log
        self.columns: set[str] = set()  # the table's, once prepared
        self.timings: dict[str, float] = {}

    def lock(self) -> None:
        """One commit per table at a time; a second run waits up to lock_timeout, then retries."""
        name = f"{self.settings.schema_name}.{self.settings.table}"
        with self.connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '30s'")
            # COPY gets timestamps as UTC wall time (see _as_utc_wall_time).
            cursor.execute("SET LOCAL TimeZone = 'UTC'")
            cursor.execute("SET LOCAL DateStyle = 'ISO, YMD'")
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (name,))

    def prepare_commit_log(self) -> str | None:
        """Create the schema and the commit log when missing (older logs gain the column
        holding the source state); return the run the log ends with (None: no run yet)."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM pg_namespace WHERE nspname = %s", (self.settings.schema_name,)
            )
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE SCHEMA {}").format(self.schema))
            cursor.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (run_id text PRIMARY KEY, "
                    "commit_id bigint GENERATED ALWAYS AS IDENTITY, "
                    "committed_at timestamptz NOT NULL DEFAULT now(), rows bigint NOT NULL, "
                    "source_state jsonb)"
                ).format(self.commits)
            )
            cursor.execute(
                sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS source_state jsonb").format(
                    self.commits
                )
            )
            cursor.execute(
                sql.SQL("SELECT run_id FROM {} ORDER BY commit_id DESC LIMIT 1").format(
                    self.commits
                )
            )
            row = cursor.fetchone()
        return None if row is None else str(row[0])

    def source_state_to_commit(self, advance: StateAdvance | None) -> SourceState | None:
        """The state this commit records: the advance's, if the committed one is still the
        one it started from (the advisory lock keeps it so until the commit)."""
        if advance is None:
            return None
        with self.connection.cursor() as cursor:
            committed = _latest_source_state(cursor, self.commits)
        if advance.stale(committed):
            raise advance.refusal(self.location_name)
        state = advance.state_after(committed)
        self.changed |= state != committed
        return state

    def prepare_table(self, files: StagedFiles) -> None:
        """Create the table when missing, or apply the schema policy to new columns, before
        any write."""
        missing = [column for column in self.key if column not in files.schema.names]
        if missing:
            raise DataContractError(f"key column(s) {missing} are missing from the output rows")
        with self.connection.cursor() as cursor:
            existing = self._existing_columns(cursor)
            if not existing:
                self._create_table(cursor, files)
                self.columns = set(files.schema.names)
                return
            new = [field for field in files.schema if field.name not in existing]
            if new and self.settings.schema_policy == "freeze":
                names = ", ".join(repr(field.name) for field in new)
                raise DataContractError(
                    f"new column(s) {names} not in table {self.location_name}: "
                    "destination.schema_policy is 'freeze'; add them to the table, drop them "
                    "in transforms/, or set it to 'evolve'"
                )
            for field in new:
                cursor.execute(
                    sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(
                        self.table, sql.Identifier(field.name), postgres_type(field)
                    )
                )
            self.changed |= bool(new)
            self.columns = existing | set(files.schema.names)

    @property
    def location_name(self) -> str:
        return f"{self.settings.schema_name}.{self.settings.table}"

    def _existing_columns(self, cursor: psycopg.Cursor[Any]) -> set[str]:
        cursor.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) "
            "AND attnum > 0 AND NOT attisdropped",
            (self.table.as_string(self.connection),),
        )
        return {row[0] for row in cursor.fetchall()}

    def _create_table(self, cursor: psycopg.Cursor[Any], files: StagedFiles) -> None:
        columns = [
            sql.SQL("{} {}").format(sql.Identifier(field.name), postgres_type(field))
            + (sql.SQL(" NOT NULL") if field.name in self.key else sql.SQL(""))
            for field in files.schema
        ]
        cursor.execute(
            sql.SQL("CREATE TABLE {} ({}, PRIMARY KEY ({}))").format(
                self.table,
                sql.SQL(", ").join(columns),
                sql.SQL(", ").join(map(sql.Identifier, self.key)),
            )
        )
        self.created = self.changed = True

    def load(self, files: StagedFiles) -> None:
        """COPY the rows (straight into a table this run created, else into a temporary table
        that is then merged) and check that every staged row arrived, each key once."""
        columns = sql.SQL(", ").join(map(sql.Identifier, files.schema.names))
        if self.created:  # nothing to merge with: the primary key refuses a key staged twice
            with self._one_row_per_key():
                self._timed("copy", lambda: self._copy(self.table, columns, files))
            return
        staging = sql.Identifier("_pipeline_staging")
        with self.connection.cursor() as cursor:
            cursor.execute(
                sql.SQL(
                    "CREATE TEMPORARY TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA"
                ).format(staging, columns, self.table)
            )
        self._timed("copy", lambda: self._copy(staging, columns, files))
        with self._one_row_per_key():
            self._timed("unique", lambda: self._index_keys(staging))
        # Autovacuum never analyzes temporary tables: without statistics the planner guesses
        # the batch is tiny and picks nested loops for the delete and the upsert.
        self._timed("analyze", lambda: self._analyze(staging))
        self._timed("delete", lambda: self._delete_replaced(staging))
        self._timed("upsert", lambda: self._upsert(staging, files.schema.names))

    @contextmanager
    def _one_row_per_key(self) -> Iterator[None]:
        """A unique violation on the key, as the data contract error it is (unchecked, an
        upsert would fail on a raw error, or let an arbitrary copy of the key win)."""
        try:
            yield
        except UniqueViolation:
            names = ", ".join(map(repr, self.key))
            raise DataContractError(
                f"the run staged some key more than once (key column(s) {names}); nothing "
                "was committed. Engines keep one row per key (semantics.merge.superseded): "
                "code of your own that writes the staged rows must do the same"
            ) from None

    def _index_keys(self, staging: sql.Identifier) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("CREATE UNIQUE INDEX ON {} ({})").format(
                    staging, sql.SQL(", ").join(map(sql.Identifier, self.key))
                )
            )

    def _analyze(self, staging: sql.Identifier) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(sql.SQL("ANALYZE {}").format(staging))

    def _timed(self, step: str, work: Callable[[], None]) -> None:
        started = time.perf_counter()
        work()
        self.timings[step] = time.perf_counter() - started

    def _copy(self, table: sql.Composable, columns: sql.Composable, files: StagedFiles) -> None:
        statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(table, columns)
        options = pa_csv.WriteOptions(include_header=False, batch_size=BATCH_ROWS)
        with self.connection.cursor() as cursor:
            # The queued writer sends on a thread of its own while this one reads Parquet and
            # encodes CSV (both in Arrow's C++, without the GIL): the two overlap.
            with cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
                for batch in files.batches():
                    buffer = io.BytesIO()
                    pa_csv.write_csv(_as_utc_wall_time(batch), buffer, write_options=options)
                    copy.write(buffer.getbuffer())
            copied = cursor.rowcount
        if copied != files.rows:
            raise TransientError(
                f"COPY into {self.location_name} took {copied} rows of {files.rows} staged; "
                "nothing was committed: rerun"
            )

    def _delete_replaced(self, staging: sql.Identifier) -> None:
        """Delete the committed rows this run replaces whose key it no longer delivers."""
        replaced = merge.replaced_rows(
            source_partition=self.replaces.partition,
            by_key=self.replaces.by_key,
            partition_by=self.partition_by,
            written=self.written,
            committed=COMMITTED,
        )
        compared = SOURCE_PARTITION if self.replaces.partition is not None else self.partition_by
        if replaced is None or compared not in self.columns:
            return  # nothing replaced, or no committed row has a value to replace by
        with self.connection.cursor() as cursor:
            # The fragments quote identifiers and literals themselves; without parameters
            # psycopg sends the text as it is (a `%` in a value stays a `%`).
            cursor.execute(
                sql.SQL(
                    "DELETE FROM {table} AS {committed} WHERE {replaced} AND NOT EXISTS "
                    "(SELECT 1 FROM {staging} AS {delivered} WHERE {same_key})"
                ).format(
                    table=self.table,
                    committed=sql.SQL(COMMITTED),
                    replaced=sql.SQL(replaced),
                    staging=staging,
                    delivered=sql.SQL(DELIVERED),
                    same_key=sql.SQL(merge.key_matches(self.key, COMMITTED, DELIVERED)),
                )
            )
            self.changed |= cursor.rowcount > 0

    def _upsert(self, staging: sql.Identifier, columns: Sequence[str]) -> None:
        """Insert new keys; update a committed row the delivered one outranks (or ties) and
        differs from, so an unchanged row is not rewritten."""
        names = sql.SQL(", ").join(map(sql.Identifier, columns))
        others = [column for column in columns if column not in self.key]
        action: sql.Composable
        if others:
            action = sql.SQL("DO UPDATE SET ({}) = ROW({}) WHERE NOT {} AND {}").format(
                sql.SQL(", ").join(map(sql.Identifier, others)),
                sql.SQL(", ").join(
                    sql.SQL("{}.{}").format(sql.SQL(PROPOSED), sql.Identifier(column))
                    for column in others
                ),
                sql.SQL(
                    merge.committed_row_wins(
                        self.columns, COMMITTED, PROPOSED, by_key=self.replaces.by_key
                    )
                ),
                sql.SQL(merge.row_differs(others, COMMITTED, PROPOSED)),
            )
        else:
            action = sql.SQL("DO NOTHING")
        with self.connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("INSERT INTO {} AS {} ({}) SELECT {} FROM {} ON CONFLICT ({}) {}").format(
                    self.table,
                    sql.SQL(COMMITTED),
                    names,
                    names,
                    staging,
                    sql.SQL(", ").join(map(sql.Identifier, self.key)),
                    action,
                )
            )
            self.changed |= cursor.rowcount > 0

    def record(self, run_id: str, files: StagedFiles, source_state: SourceState | None) -> None:
        """The commit marker: one row per committed run, in the same transaction."""
        with self.connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("INSERT INTO {} (run_id, rows, source_state) VALUES (%s, %s, %s)").format(
                    self.commits
                ),
                (run_id, files.rows, None if source_state is None else Jsonb(source_state)),
            )


# ---------------------------------------------------------------------------------------------
# Connections and errors
# ---------------------------------------------------------------------------------------------
def connect(settings: DestinationSettings, password: SecretStr | None) -> psycopg.Connection[Any]:
    """A connection as `settings` say."""
    return postgres_connection.connect(
        settings, settings.user, password, application_name="pipeline-loader"
    )


def check_login(settings: DestinationSettings) -> str:
    """Log in and look at the target table; raise ValueError naming what to fix."""
    try:
        password = resolve_secret(
            settings.password, settings.password_secret, setting="destination.password"
        )
        with connect(settings, password) as connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_user, to_regclass(%s) IS NOT NULL",
                (sql.Identifier(settings.schema_name, settings.table).as_string(connection),),
            )
            row = cursor.fetchone()
    except PipelineError as error:
        raise ValueError(str(error)) from None
    except psycopg.Error as error:
        raise ValueError(str(classify(error, settings.location))) from None
    user, exists = row if row else ("?", False)
    table = "exists" if exists else "will be created by the first run"
    tls = settings.effective_sslmode
    return f"logged in to {settings.location} as {user} (sslmode {tls}); table {table}"


def _is_transient(error: BaseException) -> bool:
    return isinstance(error, psycopg.Error) and isinstance(classify(error, ""), TransientError)


def classify(error: psycopg.Error, location: str) -> PipelineError:
    """The pipeline's error class for a database error, its message naming what to fix."""
    where = postgres_connection.error_text(error, f"PostgreSQL {location}")
    access = postgres_connection.classify_access(
        error,
        where,
        section="destination",
        privileges="CREATE on the schema, or INSERT, UPDATE, DELETE on the table",
    )
    if access is not None:
        return access
    if (error.sqlstate or "").startswith(("22", "23", "21", "42")):
        return DataContractError(f"{where}: the rows do not fit table {location}")
    return PipelineError(where)


def _require_identifier(name: str, what: str) -> None:
    problem = postgres_connection.identifier_problem(name)
    if problem:
        raise DataContractError(f"{what} cannot be a PostgreSQL column name: it {problem}")
