"""Local files: resolve paths and globs to an ordered list of files with their formats.

Engine-neutral: engines read the files this module finds.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import ConfigurationError
from ..settings import SourceSettings

FileFormat = Literal["csv", "jsonl", "parquet"]

FORMAT_BY_SUFFIX: dict[str, FileFormat] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}


@dataclass(frozen=True)
class SourceFile:
    """One input file and the format it is read with."""

    path: Path
    format: FileFormat


def discover_source_files(settings: SourceSettings) -> list[SourceFile]:
    """Expand `source.path` (comma-separated paths or globs) into files, sorted per pattern.

    Sorting makes the read order, and so de-duplication and the output, repeatable.
    """
    patterns = [part.strip() for part in settings.path.split(",") if part.strip()]
    found: list[Path] = []
    for pattern in patterns:
        matches = sorted(
            # glob.glob, not Path.glob: patterns may be absolute paths.
            Path(match)
            for match in glob.glob(pattern, recursive=True)  # noqa: PTH207
            if Path(match).is_file()
        )
        if not matches:
            raise ConfigurationError(
                f"source.path pattern {pattern!r} matches no files (working directory "
                f"{Path.cwd()}): set PIPELINE_SOURCE__PATH or [source] path in pipeline.toml"
            )
        found.extend(match for match in matches if match not in found)
    return [SourceFile(path, _format_of(path, settings)) for path in found]


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
