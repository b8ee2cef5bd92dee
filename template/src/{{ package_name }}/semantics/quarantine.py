"""The quarantine record: what a rejected row looks like, whichever engine rejected it.

`<runs_dir>/<run_id>/quarantine.parquet` holds, in this column order: the row's data
columns as transformed (null for a malformed record), its coordinates (`_source_file`,
`_source_row`), every reason code (`_reasons`), the source's text of each value that was not
of its type (`_raw:<column>`), a malformed record's whole text (`_raw_record`) and the run
(`_run_id`). Rejected rows come first, in source order, then malformed records, in source
order; an engine writes the file, but never decides what is in it.
"""

from __future__ import annotations

from collections.abc import Sequence

import narwhals as nw
from narwhals.typing import FrameT

from .columns import RAW_RECORD, REASONS, RUN_ID, SOURCE_FILE, SOURCE_ROW, is_bookkeeping, is_raw
from .verdicts import CompiledRule, reasons, verdict_names


def quarantine_columns(columns: Sequence[str]) -> list[str]:
    """The quarantine file's columns, in order, for rows with these `columns`."""
    data = [name for name in columns if not is_bookkeeping(name)]
    raw = [name for name in columns if is_raw(name)]
    return [*data, SOURCE_FILE, SOURCE_ROW, REASONS, *raw, RAW_RECORD, RUN_ID]


def with_reasons(frame: FrameT, compiled: Sequence[CompiledRule]) -> FrameT:
    """Quarantined rows (verdicts evaluated): their reasons in, the verdicts out."""
    verdicts = [name for name in frame.columns if name in verdict_names(compiled)]
    return frame.with_columns(reasons(compiled).alias(REASONS)).drop(*verdicts)


def quarantine_record(frame: FrameT, run_id: str) -> FrameT:
    """Quarantined rows with their reasons as quarantine records, in the file's order."""
    return frame.with_columns(
        nw.lit(None, nw.String).alias(RAW_RECORD), nw.lit(run_id, nw.String).alias(RUN_ID)
    ).select(quarantine_columns(frame.columns))
