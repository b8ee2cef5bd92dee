"""The stream loop: poll a micro-batch, run it as an incremental batch run, acknowledge.

A micro-batch is a batch run (ADR 0012): its payloads become one JSON Lines file, the batch
pipeline decodes, transforms, validates and quarantines it, and the destination commits its
rows together with the batch's positions in one atomic step. Quarantined records go to the
dead-letter destination before that commit (`DeadLettering`), so a crash in between sends
them again (at-least-once into the dead letters, keyed by their coordinates;
`loading/dead_letters.py`). Only then is
the broker told (`Stream.acknowledge`). A stop signal is honoured between batches: a batch
polled but not committed is abandoned, and the next consumer reads it again.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from opentelemetry.metrics import Meter

from ..errors import StaleStateError, TransientError
from ..pipeline.interruption import RunInterrupted, SignalStop
from ..pipeline.runner import RunResult, new_run_id
from ..vocabulary import DEAD_LETTERS, STREAM_BATCH_DURATION, STREAM_LAG, STREAM_PARTITION
from .protocol import Polled, Stream

logger = logging.getLogger(__name__)

# A transient failure of one batch (the destination unreachable) is retried this many times,
# waiting twice as long each time, before the consumer exits 75 and its pod restarts.
BATCH_ATTEMPTS = 5
FIRST_RETRY_SECONDS = 1.0
# A payload that holds a line break is rewritten on one line; one that is not JSON gets this
# prefix, which no JSON text starts with, so it stays malformed (its raw bytes still reach
# the dead letters as they were).
UNPARSEABLE_MARK = b"\x00"


def write_batch_file(polled: Polled, path: Path) -> None:
    """Write the batch's payloads as JSON Lines, one record per line, in poll order, so that
    line n is record n (the quarantine's `_source_row` names the coordinates)."""
    lines = [_one_line(payload) for payload in polled.payloads]
    path.write_bytes(b"\n".join(lines) + b"\n" if lines else b"")


def _one_line(payload: bytes | None) -> bytes:
    if payload is None:
        return b"null"  # a tombstone: not an object, so quarantined with its coordinates
    if b"\n" not in payload and b"\r" not in payload:
        return payload
    try:
        return json.dumps(json.loads(payload), ensure_ascii=False).encode()
    except ValueError:  # not JSON (UnicodeDecodeError included): keep it malformed
        return UNPARSEABLE_MARK + payload.replace(b"\r", b"\\r").replace(b"\n", b"\\n")


@dataclass
class StreamInstruments:
    """Batch latency, dead letters and lag per partition, on the pipeline's meter (names,
    units and attributes from `vocabulary.py`; `attributes` go on every point)."""

    meter: Meter
    lag: dict[str, int] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.batch_duration = STREAM_BATCH_DURATION.histogram(self.meter)
        self.dead_letters = DEAD_LETTERS.counter(self.meter)
        self.dead_letters.add(0, self.attributes)  # a series from the start: the first counts
        STREAM_LAG.gauge(self.meter, self._observe_lag)

    def _observe_lag(self) -> Iterator[tuple[float, dict[str, str]]]:
        for partition, behind in sorted(self.lag.items()):
            yield behind, {**self.attributes, STREAM_PARTITION: partition}


@dataclass
class StreamSummary:
    """What a `stream` command did, as `stream --json` prints it."""

    batches: int = 0
    records: int = 0
    written: int = 0
    quarantined: int = 0
    stopped: str = "max-batches"
    last_run_id: str | None = None

    def add(self, polled: Polled, result: RunResult) -> None:
        """Count one committed batch."""
        self.batches += 1
        self.records += polled.records
        self.written += result.counts.written
        self.quarantined += result.counts.quarantined
        self.last_run_id = result.run_id


# Runs one polled batch as a batch run (the composition wires it): returns its result.
RunBatch = Callable[[Polled, str], RunResult]


@dataclass
class StreamLoop:
    """Poll, run, acknowledge, until `max_batches` batches, idleness or a stop signal."""

    stream: Stream
    run_batch: RunBatch
    signals: SignalStop
    instruments: StreamInstruments
    max_records: int
    max_seconds: float
    sleep: Callable[[float], None] = time.sleep
    heartbeat: Path | None = None

    def run(self, *, max_batches: int | None = None, until_idle: bool = False) -> StreamSummary:
        """Consume; raises RunInterrupted on a stop signal (the batch in hand is abandoned),
        a PipelineError when a batch cannot be committed."""
        summary = StreamSummary()
        try:
            return self._consume(summary, max_batches, until_idle)
        except RunInterrupted as stop:
            if stop.detail is None:  # between batches: the runner did not describe it
                stop.detail = (
                    f"the consumer stopped on {stop.signal_name} after {summary.batches:,} "
                    "committed batch(es); a batch polled but not committed is read again by "
                    "the next consumer"
                )
            raise

    def _consume(
        self, summary: StreamSummary, max_batches: int | None, until_idle: bool
    ) -> StreamSummary:
        while max_batches is None or summary.batches < max_batches:
            self.signals.rearm()  # a signal received during the last batch stops here
            started = time.perf_counter()
            polled = self.stream.poll(self.max_records, self.max_seconds)
            self._beat()
            self.instruments.lag = self.stream.lag()
            if not polled.records and polled.to == polled.since:
                if until_idle and self.stream.idle():
                    summary.stopped = "idle"
                    return summary
                continue
            self.signals.checkpoint()  # stopping now abandons the polled batch: nothing is lost
            result = self._commit(polled)
            self.stream.acknowledge(polled.to)
            summary.add(polled, result)
            attributes = self.instruments.attributes
            self.instruments.batch_duration.record(time.perf_counter() - started, attributes)
            if result.counts.quarantined:
                self.instruments.dead_letters.add(result.counts.quarantined, attributes)
        return summary

    def _commit(self, polled: Polled) -> RunResult:
        """Run the batch; retry it when the destination failed transiently."""
        wait = FIRST_RETRY_SECONDS
        for attempt in range(1, BATCH_ATTEMPTS + 1):
            try:
                return self.run_batch(polled, new_run_id())
            except StaleStateError:
                raise  # another consumer moved these partitions: re-read them from the start
            except TransientError as error:
                if attempt == BATCH_ATTEMPTS:
                    raise
                logger.warning(
                    "batch attempt %d of %d failed (%s); retrying in %.0f s",
                    attempt,
                    BATCH_ATTEMPTS,
                    error,
                    wait,
                )
                self.sleep(wait)
                self.signals.rearm()
                wait *= 2
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _beat(self) -> None:
        """Touch the heartbeat file the liveness probe reads: the loop is polling."""
        if self.heartbeat is not None:
            self.heartbeat.touch()


def owned_partitions(polled: Polled) -> frozenset[str]:
    """The partitions whose positions this batch checks and advances."""
    return frozenset(polled.since) | frozenset(polled.to)


def coordinate_span(coordinates: Sequence[str]) -> str:
    """How a batch's records are named as a source file: first to last coordinates."""
    if not coordinates:
        return "stream batch (no records)"
    return f"{coordinates[0]} .. {coordinates[-1]}"
