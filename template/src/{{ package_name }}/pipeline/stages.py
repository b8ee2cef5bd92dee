"""The stage protocols. Engines implement them; the runner knows only these.

`FrameT` is the engine's frame type (a polars DataFrame, for example). Every stage hands the
next one a `Batch`: the frame plus its row count, so the runner can keep the books.
Malformed records (`Extracted.malformed`, an Arrow table in every engine) skip the
transforms and rules and go straight to quarantine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

import pyarrow as pa

FrameT = TypeVar("FrameT")


@dataclass(frozen=True)
class Batch(Generic[FrameT]):
    """A frame and how many rows it holds."""

    frame: FrameT
    rows: int


@dataclass(frozen=True)
class Malformed:
    """Records that are not rows of their file (a ragged CSV row, a broken JSON line), as
    quarantine records (`_source_file`, `_source_row`, `_reasons`, `_raw_record`), and
    how many of them each reason code has."""

    records: pa.Table
    violations: Mapping[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """How many malformed records there are."""
        return int(self.records.num_rows)


NO_MALFORMED = Malformed(pa.table({}))


@dataclass(frozen=True)
class Extracted(Batch[FrameT]):
    """What the extractor read, from where, and the records it could not read as rows."""

    sources: tuple[str, ...] = ()
    malformed: Malformed = NO_MALFORMED


@dataclass(frozen=True)
class Validated(Generic[FrameT]):
    """Rows split by the rules, with violation counts per reason code, and for `fail`
    rules the first rows that broke one (`orders.csv row 12`)."""

    valid: Batch[FrameT]
    quarantined: Batch[FrameT]
    violations: Mapping[str, int] = field(default_factory=dict)
    failures: Mapping[str, int] = field(default_factory=dict)
    failing_rows: tuple[str, ...] = ()


@dataclass(frozen=True)
class StagedOutput:
    """Rows written where no reader sees them yet, waiting for `commit`; `superseded`: valid
    rows left out because another row of their key replaces them (`semantics/merge.py`)."""

    rows: int
    partitions: tuple[str, ...]
    staging_location: str
    superseded: int = 0


@dataclass(frozen=True)
class CommittedOutput:
    """Rows now visible to readers."""

    rows: int
    partitions: tuple[str, ...]
    location: str
    snapshot: str


@dataclass(frozen=True)
class QuarantineOutput:
    """Rows written to quarantine, with reasons and source coordinates."""

    rows: int
    location: str


class Extractor(Protocol[FrameT]):
    """Reads the source into a frame conformed to the declared contract."""

    def extract(self) -> Extracted[FrameT]:
        """Read everything this run should process."""
        ...


class Transformer(Protocol[FrameT]):
    """Applies the team's business transformations (may drop rows, never add them)."""

    def transform(self, batch: Batch[FrameT]) -> Batch[FrameT]:
        """Transform a batch."""
        ...


class Validator(Protocol[FrameT]):
    """Evaluates the data-quality rules."""

    def validate(self, batch: Batch[FrameT]) -> Validated[FrameT]:
        """Split a batch into valid and quarantined rows and count violations."""
        ...


class Loader(Protocol[FrameT]):
    """Writes valid rows: stage first, then commit atomically, so readers never see a part."""

    @property
    def location(self) -> str:
        """Where readers find the committed data."""
        ...

    def stage(self, batch: Batch[FrameT], run_id: str) -> StagedOutput:
        """Write rows where readers cannot see them."""
        ...

    def commit(self, staged: StagedOutput) -> CommittedOutput:
        """Make staged rows visible in one atomic step."""
        ...

    def abort(self, staged: StagedOutput) -> None:
        """Throw staged rows away."""
        ...


class QuarantineWriter(Protocol[FrameT]):
    """Keeps rejected rows and malformed records with their reasons, source coordinates,
    raw text and the run id (`loading/quarantine_file.py`)."""

    def write(self, batch: Batch[FrameT], malformed: Malformed, run_id: str) -> QuarantineOutput:
        """Write quarantined rows and malformed records atomically; count them back."""
        ...
