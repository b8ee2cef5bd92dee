"""One row per key: which row wins, written once for every engine and destination.

The rule, whatever the destination and however the rows arrive (full runs, partition runs,
backfills, incremental changes) and in whatever order:

1. **Within a run** the engine keeps, per key, the valid row ranked last by source
   partition, then source file, then record number (`superseded` flags the others): an
   order re-sent in a later day's file replaces the earlier copy, and within one file the
   later record wins. A row with no source partition ranks before every dated one.
2. **Against the committed rows** the destination replaces the committed row of a key
   unless it comes from a later source partition than the delivered one
   (`committed_row_wins`); an incremental source's changes always replace it. A tie goes
   to the delivered row, so rerunning a partition after its file was corrected delivers
   the correction; an unchanged row is not rewritten (`row_differs`).
3. **Deletions**: a run deletes the committed rows it replaces (`protocol.Replacement`) whose
   key it no longer delivers (`replaced_rows`): a full run, in the output partitions it
   writes; a partition run, the rows of its source partition; an incremental source's run,
   none.

So one full run, a backfill, and partition runs in any order commit the same rows. (A full
run of a full-picture source holds every source partition, so replacing the output
partitions it writes is the same rule; Delta destinations do exactly that, without a join.)
The SQL here is the subset DataFusion (Delta Lake) and PostgreSQL both read the same way.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime

import narwhals as nw

from .columns import SOURCE_FILE, SOURCE_PARTITION, SOURCE_ROW

# The order of a run's rows, from first to last (rule 1).
RUN_ORDER = (SOURCE_PARTITION, SOURCE_FILE, SOURCE_ROW)


def superseded(key: Sequence[str], columns: Collection[str]) -> nw.Expr:
    """True on a row of the run that another row of the same key replaces (rule 1).

    `columns`: the frame's columns; it must have the source coordinates."""
    order = [name for name in RUN_ORDER if name in columns]
    if SOURCE_ROW not in order:
        raise ValueError(f"ranking rows needs the source coordinates {RUN_ORDER[1:]}")
    later_rows = nw.col(SOURCE_ROW).cum_count(reverse=True).over(*key, order_by=order)
    return later_rows > 1


def committed_row_wins(
    columns: Collection[str], committed: str, delivered: str, *, by_key: bool = False
) -> str:
    """SQL: true when the committed row (alias `committed`) outranks the delivered row of
    its key (alias `delivered`), so the merge keeps it (rule 2). An incremental source's
    changes (`by_key`) are newer than anything committed: they always win."""
    if by_key or SOURCE_PARTITION not in columns:
        return "FALSE"
    kept = f"{committed}.{quote_identifier(SOURCE_PARTITION)}"
    new = f"{delivered}.{quote_identifier(SOURCE_PARTITION)}"
    return f"({kept} IS NOT NULL AND ({new} IS NULL OR {kept} > {new}))"


def row_differs(columns: Iterable[str], committed: str, delivered: str) -> str:
    """SQL: true when any of `columns` differs between the two rows (nulls compare equal)."""
    checks = [
        # Parenthesised: DataFusion binds `IS DISTINCT FROM` looser than OR.
        f"({committed}.{name} IS DISTINCT FROM {delivered}.{name})"
        for name in map(quote_identifier, columns)
    ]
    return "(" + " OR ".join(checks) + ")" if checks else "FALSE"


def key_matches(key: Sequence[str], committed: str, delivered: str) -> str:
    """SQL: the merge condition, the two rows have the same key."""
    return " AND ".join(
        f"{committed}.{name} = {delivered}.{name}" for name in map(quote_identifier, key)
    )


def replaced_rows(
    *,
    source_partition: date | None,
    by_key: bool,
    partition_by: str,
    written: Iterable[object],
    committed: str,
) -> str | None:
    """SQL on the committed rows (alias `committed`): those the run replaces, deleted when
    it does not deliver their key again (rule 3); None when it replaces none."""
    if by_key:
        return None
    if source_partition is not None:
        column = quote_identifier(SOURCE_PARTITION)
        return f"{committed}.{column} = {sql_literal(source_partition)}"
    values = sorted({sql_literal(value) for value in written if value is not None})
    if not values:
        return None
    return f"{committed}.{quote_identifier(partition_by)} IN ({', '.join(values)})"


def quote_identifier(name: str) -> str:
    """A column name as an SQL identifier, whatever characters it has."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(value: object) -> str:
    """A partition value as a typed SQL literal (text is quoted, never interpolated)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"
