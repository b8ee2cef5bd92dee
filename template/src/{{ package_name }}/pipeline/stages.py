"""The stage protocols. Engines implement them; the runner knows only these.

`FrameT` is the engine's frame type (a polars DataFrame, for example). Every stage hands the
next one a `Batch`: the frame plus its row count, so the runner can keep the books.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

FrameT = TypeVar("FrameT")


@dataclass(frozen=True)
class Batch(Generic[FrameT]):
    """A frame and how many rows it holds."""

    frame: FrameT
    rows: int


@dataclass(frozen=True)
class Extracted(Batch[FrameT]):
    """What the extractor read, and from where."""

    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Validated(Generic[FrameT]):
    """Rows split by the rules, with violation counts per reason code."""

    valid: Batch[FrameT]
    quarantined: Batch[FrameT]
    violations: Mapping[str, int] = field(default_factory=dict)
    failures: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class StagedOutput:
    """Rows written where no reader sees them yet, waiting for `commit`."""

    rows: int
    partitions: tuple[str, ...]
    staging_location: str


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


class QuarantineSink(Protocol[FrameT]):
    """Keeps rejected rows with their reasons, source coordinates and the run id."""

    def write(self, batch: Batch[FrameT], run_id: str) -> QuarantineOutput:
        """Write quarantined rows atomically."""
        ...
