"""The stream seam: what every stream source hands the stream loop (ADR 0012).

A stream source polls micro-batches of raw records with their coordinates, and the positions
the batch moves its partitions to. The loop runs each batch through the batch pipeline; the
destination commits the rows with the positions in one atomic step, and only then does the
loop tell the broker (`acknowledge`). A consumer (re)starts from the positions the
destination holds (`committed`, given to `open_stream`), so a batch replayed after a crash
changes nothing.

Each stream module (`streams/<name>/consumer.py`) exports `open_stream(settings, *,
committed)`; its `configuration.py` holds its settings and the doctor's check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

# Per partition (`<topic>/<partition>`, `<stream>/<shard>`): the next offset (Kafka) or the
# last sequence number read (Kinesis; "SHARD_END" once a closed shard is drained).
Positions = dict[str, int | str]


@dataclass(frozen=True)
class Polled:
    """One micro-batch: raw payloads in poll order, their coordinates, and positions."""

    payloads: list[bytes | None]
    # Same order as payloads: `<topic>/<partition>/<offset>` or `<stream>/<shard>/<sequence>`.
    coordinates: list[str]
    # The owned partitions' positions this batch starts from, and where it leaves them.
    since: Positions
    to: Positions

    @property
    def records(self) -> int:
        """How many records the batch holds."""
        return len(self.payloads)


@dataclass(frozen=True)
class DeadLetter:
    """A record the pipeline quarantined, as the dead-letter destination receives it."""

    payload: bytes | None
    coordinates: str
    reasons: tuple[str, ...]
    run_id: str


class Stream(Protocol):
    """A consumer's view of its broker: poll, dead-letter, acknowledge, report lag."""

    def poll(self, max_records: int, max_seconds: float) -> Polled:
        """Up to `max_records` records, waiting at most `max_seconds`; may be empty. Records
        of partitions revoked meanwhile are dropped from the batch."""
        ...

    def acknowledge(self, positions: Positions) -> None:
        """The destination committed these positions: tell the broker (advisory)."""
        ...

    def dead_letter(self, letters: Sequence[DeadLetter]) -> None:
        """Write bad records to the dead-letter destination, durably, before the commit."""
        ...

    def lag(self) -> dict[str, int]:
        """How far behind each owned partition is (records, or milliseconds for Kinesis)."""
        ...

    def idle(self) -> bool:
        """True when every owned partition is at its end."""
        ...

    def close(self) -> None:
        """Leave the group cleanly (SIGTERM, the end of `--max-batches`)."""
        ...
