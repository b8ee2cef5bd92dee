"""Local files: resolve paths and globs to an ordered list of files with their formats.

`source.path` may hold a `{date}` placeholder (e.g. `landing/orders-{date}.csv`): a run for
one partition reads only that date's files, and a full run reads every date, each file
tagged with the partition its name holds. Engine-neutral: engines read what this finds.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ..errors import ConfigurationError
from .configuration import SourceSettings
from .selection import FileFormat, SourceFile, SourceSelection, SourceState

DATE_PLACEHOLDER = "{date}"

FORMAT_BY_SUFFIX: dict[str, FileFormat] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def select_source(
    settings: SourceSettings,
    partition: date | None,
    *,
    committed: Callable[[], SourceState | None],
    workdir: Path,
) -> SourceSelection:
    """Every file the pattern matches (for `partition`, that day's): local files keep no
    state, each run reads what is there."""
    del committed, workdir  # files are read in place, and every run reads them all
    return SourceSelection(files=tuple(discover_source_files(settings, partition)))


def is_partitioned(settings: SourceSettings) -> bool:
    """True when `source.path` names partitions with `{date}`."""
    return DATE_PLACEHOLDER in settings.path


def discover_source_files(
    settings: SourceSettings, partition: date | None = None
) -> list[SourceFile]:
    """Expand `source.path` (comma-separated paths or globs) into files, sorted per pattern.

    Sorting makes the read order, and so de-duplication and the output, repeatable.
    """
    if partition is not None and not is_partitioned(settings):
        raise ConfigurationError(
            f"a run for partition {partition} needs a {DATE_PLACEHOLDER} placeholder in "
            f"source.path (now {settings.path!r}), e.g. 'landing/orders-{DATE_PLACEHOLDER}.csv'"
        )
    patterns = [part.strip() for part in settings.path.split(",") if part.strip()]
    found: dict[Path, SourceFile] = {}
    for pattern in patterns:
        for path, file_partition in _expand(pattern, partition):
            if path not in found:
                found[path] = SourceFile(path, _format_of(path, settings), file_partition)
    return list(found.values())


def _expand(pattern: str, partition: date | None) -> list[tuple[Path, date | None]]:
    wanted = "*" if partition is None else partition.isoformat()
    concrete = pattern.replace(DATE_PLACEHOLDER, wanted)
    matches = sorted(
        # glob.glob, not Path.glob: patterns may be absolute paths.
        Path(match)
        for match in glob.glob(concrete, recursive=True)  # noqa: PTH207
        if Path(match).is_file()
    )
    if not matches:
        raise ConfigurationError(
            f"source.path pattern {concrete!r} matches no files (working directory "
            f"{Path.cwd()}): set PIPELINE_SOURCE__PATH or [source] path in pipeline.toml"
        )
    if DATE_PLACEHOLDER not in pattern:
        return [(path, None) for path in matches]
    reader = _partition_reader(pattern)
    return [(path, reader(path)) for path in matches]


def _partition_reader(pattern: str) -> _PartitionReader:
    """A function reading the date a matched path holds where the pattern says `{date}`."""
    before, _, after = pattern.partition(DATE_PLACEHOLDER)
    glob_part = r"[^/]*"
    regex = re.compile(
        "^"
        + re.escape(before).replace(r"\*", glob_part)
        + r"(\d{4}-\d{2}-\d{2})"
        + re.escape(after).replace(r"\*\*", ".*").replace(r"\*", glob_part)
        + "$"
    )
    return _PartitionReader(regex, pattern)


@dataclass(frozen=True)
class _PartitionReader:
    regex: re.Pattern[str]
    pattern: str

    def __call__(self, path: Path) -> date:
        match = self.regex.match(str(path))
        if match is None:
            raise ConfigurationError(
                f"source file {str(path)!r} matches source.path {self.pattern!r} but holds no "
                "YYYY-MM-DD date where {date} stands: rename it or narrow the pattern"
            )
        try:
            return date.fromisoformat(match.group(1))
        except ValueError:
            raise ConfigurationError(
                f"source file {str(path)!r}: {match.group(1)!r} is not a calendar date"
            ) from None


def _format_of(path: Path, settings: SourceSettings) -> FileFormat:
    if settings.format != "auto":
        return settings.format
    detected = FORMAT_BY_SUFFIX.get(path.suffix.lower())
    if detected is None:
        known = ", ".join(sorted(FORMAT_BY_SUFFIX))
        raise ConfigurationError(
            f"source file {str(path)!r} has no known extension ({known}): rename it or set "
            "source.format (PIPELINE_SOURCE__FORMAT) to csv, jsonl or parquet"
        )
    return detected
