"""A run's quarantined rows grouped by reason code: how many per reason, and the first rows
of each with their source coordinates and the source's text.

Reads `<runs_dir>/<run_id>/quarantine.parquet` (`loading/quarantine_file.py`), where every
destination's runs keep their quarantine. A row with several reasons counts under each. The
file is read in batches and only until every reason shown has its rows, so a large
quarantine costs one pass over its `_reasons` column for the counts and little more.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..loading.quarantine_file import QUARANTINE_FILE
from ..semantics.columns import (
    RAW_RECORD,
    REASONS,
    SOURCE_FILE,
    SOURCE_ROW,
    is_bookkeeping,
    is_raw,
)

BATCH_ROWS = 65_536


class QuarantineFileError(Exception):
    """The run's quarantine file is missing although its manifest counts rows, or unreadable."""


@dataclass(frozen=True)
class QuarantinedRow:
    """One quarantined row: where it came from, why, its values and the source's text."""

    source_file: str | None
    source_row: int | None
    reasons: list[str]
    values: dict[str, Any]
    # `_raw:<column>` texts, by column: what the source held where a value was not of its type.
    raw: dict[str, str]
    raw_record: str | None  # a malformed record's whole text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "source_file": self.source_file,
            "source_row": self.source_row,
            "reasons": self.reasons,
            "values": self.values,
            "raw": self.raw,
            "raw_record": self.raw_record,
        }


@dataclass
class ReasonGroup:
    """The rows quarantined for one reason code: their number, and the first of them."""

    code: str
    rows: int
    examples: list[QuarantinedRow] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "code": self.code,
            "rows": self.rows,
            "examples": [row.to_dict() for row in self.examples],
        }


@dataclass(frozen=True)
class QuarantineReport:
    """A run's quarantine by reason, most frequent reason first."""

    file: Path | None  # None: the run quarantined nothing
    rows: int
    groups: list[ReasonGroup]
    # Every reason code in the file, a `--reason` filter or not: what there is to ask for.
    codes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "file": str(self.file) if self.file else None,
            "rows": self.rows,
            "reasons": [group.to_dict() for group in self.groups],
            "codes": self.codes,
        }


def quarantine_report(
    run_folder: Path, manifest: dict[str, Any] | None, *, reason: str | None, limit: int
) -> QuarantineReport:
    """The quarantine of the run in `run_folder`: every reason (or only `reason`) with its
    count and its first `limit` rows."""
    path = run_folder / QUARANTINE_FILE
    recorded = int(((manifest or {}).get("counts") or {}).get("quarantined") or 0)
    if not path.is_file():
        if recorded:
            raise QuarantineFileError(
                f"{path} is missing, yet the run's manifest counts {recorded} quarantined "
                "row(s): the file was moved or deleted"
            )
        return QuarantineReport(None, 0, [])
    try:
        source = pq.ParquetFile(path)
        counts = _reason_counts(source)
        wanted = [code for code, _ in counts.most_common() if reason in (None, code)]
        groups = {code: ReasonGroup(code, counts[code]) for code in wanted}
        if limit:
            _collect_examples(source, groups, limit)
    except (OSError, pa.ArrowException) as error:
        raise QuarantineFileError(f"{path}: not a readable quarantine file ({error})") from None
    return QuarantineReport(path, source.metadata.num_rows, list(groups.values()), sorted(counts))


def _reason_counts(source: pq.ParquetFile) -> Counter[str]:
    counts: Counter[str] = Counter()
    for batch in source.iter_batches(batch_size=BATCH_ROWS, columns=[REASONS]):
        tally = pc.value_counts(pc.list_flatten(batch.column(0)))
        for code, count in zip(
            tally.field("values").to_pylist(), tally.field("counts").to_pylist(), strict=True
        ):
            counts[str(code)] += int(count or 0)
    return counts


def _collect_examples(source: pq.ParquetFile, groups: dict[str, ReasonGroup], limit: int) -> None:
    """The first `limit` rows of each group, in file order (source order)."""
    for batch in source.iter_batches(batch_size=BATCH_ROWS):
        for record in batch.to_pylist():
            row = _quarantined_row(record)
            for code in row.reasons:
                group = groups.get(code)
                if group is not None and len(group.examples) < limit:
                    group.examples.append(row)
            if all(len(group.examples) >= min(limit, group.rows) for group in groups.values()):
                return


def _quarantined_row(record: dict[str, Any]) -> QuarantinedRow:
    source_row = record.get(SOURCE_ROW)
    return QuarantinedRow(
        source_file=record.get(SOURCE_FILE),
        source_row=int(source_row) if source_row is not None else None,
        reasons=[str(code) for code in record.get(REASONS) or []],
        values={
            name: _json_value(value) for name, value in record.items() if not is_bookkeeping(name)
        },
        raw={
            name.split(":", 1)[1]: str(value)
            for name, value in record.items()
            if is_raw(name) and value is not None
        },
        raw_record=record.get(RAW_RECORD),
    )


def _json_value(value: object) -> object:
    """A value as JSON can hold it: dates and times in ISO 8601, decimals as text."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | dt.timedelta | bytes):
        return str(value)
    return value
