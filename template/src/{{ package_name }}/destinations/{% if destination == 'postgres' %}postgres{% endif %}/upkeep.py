"""Upkeep of the PostgreSQL destination: `VACUUM (ANALYZE)` of the table and its commit log
(`cli maintain`).

A run's upsert leaves the rows it replaces behind as dead tuples, and the commit log grows
by a row per commit (a stream's: per micro-batch). Autovacuum gets to them on its own
schedule; `maintain` does it now: vacuum makes their room reusable and analyze refreshes the
planner's statistics for the next merge.

VACUUM cannot run in a transaction block, so the connection is in autocommit. It takes a
SHARE UPDATE EXCLUSIVE lock: a concurrent run's COPY and upsert proceed beside it (a run
adding a column waits for it). PostgreSQL vacuums only tables the role owns (or, from
PostgreSQL 17, holds MAINTAIN on) and skips any other with a warning: `maintain` turns that
warning into a configuration error naming `destination.user`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from pydantic import SecretStr

from ...credentials import resolve_secret
from ...errors import ConfigurationError, TransientError
from ...pipeline.retries import call_with_retries
from ..upkeep_report import UpkeepReport
from .configuration import DestinationSettings
from .table import classify, connect

INSUFFICIENT_PRIVILEGE = "42501"


def maintain(
    settings: DestinationSettings, *, runs_dir: Path, run_id: str, dry_run: bool = False
) -> UpkeepReport:
    """VACUUM (ANALYZE) the table `settings` name and its commit log; with `dry_run`, only
    count their dead rows."""
    del runs_dir, run_id  # nothing waits locally; VACUUM leaves no trace to tag
    started = time.monotonic()
    try:
        password = resolve_secret(
            settings.password, settings.password_secret, setting="destination.password"
        )
        steps, counts = call_with_retries(
            lambda: _maintain_once(settings, password, dry_run=dry_run),
            what=f"maintaining {settings.location}",
            is_transient=_is_transient,
        )
    except psycopg.Error as error:
        raise classify(error, settings.location) from None
    return UpkeepReport(
        location=settings.location,
        steps=steps,
        counts=counts,
        version=settings.location,
        seconds=time.monotonic() - started,
        dry_run=dry_run,
    )


def _maintain_once(
    settings: DestinationSettings, password: SecretStr | None, *, dry_run: bool
) -> tuple[tuple[str, ...], dict[str, int]]:
    tables = [
        sql.Identifier(settings.schema_name, name)
        for name in (settings.table, settings.commits_table)
    ]
    refused: list[str] = []
    with connect(settings, password) as connection:
        connection.autocommit = True
        connection.add_notice_handler(lambda notice: _note_refusal(notice, refused))
        with connection.cursor() as cursor:
            present = [table for table in tables if _exists(cursor, connection, table)]
            if not present:
                return (), {}
            counts = {"dead_rows_before": sum(_dead_rows(cursor, connection, t) for t in present)}
            if dry_run:
                return ("count",), counts
            for table in present:
                cursor.execute(sql.SQL("VACUUM (ANALYZE) {}").format(table))
    if refused:
        raise ConfigurationError(
            f"PostgreSQL {settings.location}: {refused[0]}: VACUUM needs the table's owner "
            "(or, from PostgreSQL 17, MAINTAIN on it): run maintain as the role that created "
            "the table (destination.user), or GRANT MAINTAIN to it"
        )
    counts["tables_vacuumed"] = len(present)
    return ("vacuum analyze",), counts


def _is_transient(error: BaseException) -> bool:
    return isinstance(error, psycopg.Error) and isinstance(classify(error, ""), TransientError)


def _note_refusal(notice: psycopg.errors.Diagnostic, refused: list[str]) -> None:
    """PostgreSQL skips a table the role may not vacuum with a warning, not an error
    (15: 'skipping "t" --- only table or database owner can vacuum it', 01000; 16 on:
    'permission denied to vacuum "t", skipping it', 42501)."""
    message = notice.message_primary or ""
    if notice.sqlstate == INSUFFICIENT_PRIVILEGE or "skipping" in message:
        refused.append(message)


def _exists(
    cursor: psycopg.Cursor[Any], connection: psycopg.Connection[Any], table: sql.Identifier
) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (table.as_string(connection),))
    row = cursor.fetchone()
    return bool(row and row[0])


def _dead_rows(
    cursor: psycopg.Cursor[Any], connection: psycopg.Connection[Any], table: sql.Identifier
) -> int:
    """The dead rows the statistics collector counted (an estimate, updated lazily)."""
    cursor.execute(
        "SELECT coalesce(n_dead_tup, 0) FROM pg_stat_user_tables WHERE relid = to_regclass(%s)",
        (table.as_string(connection),),
    )
    row = cursor.fetchone()
    return int(row[0]) if row else 0
