"""Names of the columns the pipeline adds to the team's data, shared by every engine.

Every added column starts with `_` (the team's transforms must keep them, see
`transforms/`), except `source_partition`, which is written with the rows.
"""

from __future__ import annotations

SOURCE_FILE = "_source_file"  # the file a row came from, as the source names it
SOURCE_ROW = "_source_row"  # its 1-based record number in that file (docs/value-grammar.md)
SOURCE_PARTITION = "source_partition"  # the `{date}` of the row's file, when files name one
REASONS = "_reasons"  # quarantine: every reason code of the row, in rule order
RAW_RECORD = "_raw_record"  # quarantine: a malformed record's text, as the file holds it
RUN_ID = "_run_id"  # quarantine: the run that rejected the row
RAW_PREFIX = "_raw:"  # `_raw:<column>`: the source's text where a value was not of its type
COORDINATES = (SOURCE_FILE, SOURCE_ROW)


def raw_column(column: str) -> str:
    """The column holding `column`'s source text where it did not parse."""
    return f"{RAW_PREFIX}{column}"


def is_raw(name: str) -> bool:
    """True for a `_raw:<column>` column."""
    return name.startswith(RAW_PREFIX)


def is_bookkeeping(name: str) -> bool:
    """True for a column the pipeline added (not the team's data)."""
    return name.startswith("_")
