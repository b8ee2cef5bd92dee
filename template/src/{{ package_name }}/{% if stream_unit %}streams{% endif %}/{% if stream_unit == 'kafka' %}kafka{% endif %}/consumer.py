"""The Kafka stream: micro-batches polled as one member of a consumer group.

The destination holds the positions (ADR 0012): on assignment each partition starts where
the destination's last commit left it; the group's committed offsets are only written after
that commit (`acknowledge`, for lag tools) and read only for partitions the destination has
never seen. Partitions move between members incrementally (cooperative-sticky): a revoked
partition's records are dropped from the batch being built, so a batch never holds records
of a partition another member now owns.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from pydantic import SecretStr

from ...errors import ConfigurationError, PipelineError, TransientError
from ..protocol import DeadLetter, Polled, Positions
from .configuration import ClientErrors, StreamSettings, resolved_password

logger = logging.getLogger(__name__)
# librdkafka's own log lines (its connection failures), under the SDK's pinned logger.
librdkafka_logger = logging.getLogger("confluent_kafka.librdkafka")

# librdkafka's offset sentinels: "no offset known" and "the partition's end" (watermarks).
OFFSET_INVALID = -1001
# Waits on the cluster outside a poll: watermarks, a commit, the broker's committed offsets.
REQUEST_TIMEOUT_S = 10.0
# A dead letter not acknowledged by the brokers within this is a failed delivery.
DELIVERY_TIMEOUT_S = 30.0
# Errors a consumer cannot get past by waiting: a setting or a grant is wrong.
_CONFIGURATION_ERRORS = {
    KafkaError.UNKNOWN_TOPIC_OR_PART: "stream.topic {topic!r} does not exist: create it",
    KafkaError.TOPIC_AUTHORIZATION_FAILED: (
        "stream.topic {topic!r}: not authorized: grant the pipeline's principal Read and "
        "Describe on it"
    ),
    KafkaError.GROUP_AUTHORIZATION_FAILED: (
        "stream.group_id {group!r}: not authorized: grant the pipeline's principal Read on "
        "the group"
    ),
}


def partition_key(topic: str, partition: int) -> str:
    """The positions' key of a partition: `<topic>/<partition>`."""
    return f"{topic}/{partition}"


@dataclass
class _Batch:
    """The micro-batch being polled: records in poll order, with each one's partition key so
    a revoked partition's records can be dropped."""

    since: dict[str, int]
    payloads: list[bytes | None] = field(default_factory=list)
    coordinates: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    def drop(self, revoked: set[str]) -> None:
        """Forget the records and the start positions of `revoked` partitions."""
        kept = [index for index, key in enumerate(self.keys) if key not in revoked]
        if len(kept) != len(self.keys):
            self.payloads = [self.payloads[index] for index in kept]
            self.coordinates = [self.coordinates[index] for index in kept]
            self.keys = [self.keys[index] for index in kept]
        for key in revoked:
            self.since.pop(key, None)


class KafkaStream:
    """A consumer group member polling micro-batches (the `Stream` protocol)."""

    def __init__(
        self,
        settings: StreamSettings,
        password: SecretStr | None,
        committed: Callable[[], Positions],
    ) -> None:
        self._settings = settings
        self._password = password
        self._committed = committed
        self._errors = ClientErrors()
        # Positions of the partitions this member owns: the next offset to read, where known
        # (the destination's, or past the last record polled).
        self._positions: dict[str, int] = {}
        self._owned: dict[str, TopicPartition] = {}
        # Partition number -> key, of the owned partitions (a record's number is never None).
        self._keys: dict[int | None, str] = {}
        self._joined = False
        self._building: _Batch | None = None
        self._producer: Producer | None = None
        self._closed = False
        self._consumer = Consumer(
            {
                **settings.client_config(password),
                "group.id": settings.group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": settings.auto_offset_reset,
                "partition.assignment.strategy": "cooperative-sticky",
                "session.timeout.ms": settings.session_timeout_ms,
                "heartbeat.interval.ms": max(settings.session_timeout_ms // 10, 500),
                "enable.partition.eof": False,
                "error_cb": self._errors,
                "logger": librdkafka_logger,
            }
        )
        self._consumer.subscribe(
            [settings.topic],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_revoke,
        )

    # Rebalance callbacks: librdkafka calls them from inside `consume`, on this thread.
    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Start each new partition at the destination's position; one the destination never
        saw starts at the group's committed offset, else at `auto_offset_reset`."""
        self._joined = True
        if not partitions:
            return
        committed = self._destination_positions()
        for partition in partitions:
            key = partition_key(partition.topic, partition.partition)
            self._owned[key] = partition
            self._keys[partition.partition] = key
            if key in committed:
                partition.offset = committed[key]
                self._positions[key] = committed[key]
                if self._building is not None:
                    self._building.since[key] = committed[key]
        consumer.incremental_assign(partitions)
        logger.info(
            "assigned %s",
            ", ".join(f"{p.topic}/{p.partition}@{p.offset}" for p in partitions),
        )

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Forget revoked (or lost) partitions: their records leave the batch being built,
        their positions are the new owner's to read from the destination."""
        revoked = {partition_key(p.topic, p.partition) for p in partitions}
        for partition in partitions:
            self._keys.pop(partition.partition, None)
        for key in revoked:
            self._owned.pop(key, None)
            self._positions.pop(key, None)
        if self._building is not None:
            self._building.drop(revoked)
        consumer.incremental_unassign(partitions)
        logger.info("revoked %s", ", ".join(sorted(revoked)))

    def _destination_positions(self) -> dict[str, int]:
        positions: dict[str, int] = {}
        for key, value in self._committed().items():
            if not key.startswith(f"{self._settings.topic}/"):
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigurationError(
                    f"the destination's position for {key} is {value!r}, not a Kafka offset: "
                    "its table holds another stream's state; point the destination elsewhere"
                )
            positions[key] = value
        return positions

    def poll(self, max_records: int, max_seconds: float) -> Polled:
        """Records until `max_records` or `max_seconds`, in poll order; may be empty."""
        deadline = time.monotonic() + max_seconds
        batch = _Batch(since=dict(self._positions))
        self._building = batch
        try:
            while len(batch.payloads) < max_records:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                messages = self._consumer.consume(max_records - len(batch.payloads), remaining)
                self._raise_reported_error()
                self._add(batch, messages)
        finally:
            self._building = None
        # Positions hold exactly the owned partitions, moved past every record polled.
        since: Positions = dict(batch.since)
        to: Positions = dict(self._positions)
        return Polled(batch.payloads, batch.coordinates, since, to)

    def _add(self, batch: _Batch, messages: list[Message]) -> None:
        # The hot loop (every record passes here): names bound once, one topic subscribed
        # (a record's partition number says which key it has).
        keys = self._keys
        positions = self._positions
        payloads, coordinates, batch_keys = batch.payloads, batch.coordinates, batch.keys
        for message in messages:
            error = message.error()
            if error is not None:
                self._message_error(error)
                continue
            key = keys.get(message.partition())
            offset = message.offset()
            # A record fetched before its partition was revoked, delivered after: not ours.
            if key is None or offset is None:
                continue
            payloads.append(message.value())
            coordinates.append(f"{key}/{offset}")
            batch_keys.append(key)
            positions[key] = offset + 1

    def _message_error(self, error: KafkaError) -> None:
        code = error.code()
        if code == KafkaError._PARTITION_EOF:
            return
        template = _CONFIGURATION_ERRORS.get(code)
        if template is not None:
            raise ConfigurationError(
                template.format(topic=self._settings.topic, group=self._settings.group_id)
            )
        if error.fatal():
            raise TransientError(f"Kafka consumer: {error.str()}: the consumer must restart")
        logger.warning("Kafka consumer: %s (librdkafka retries it)", error.str())

    def _raise_reported_error(self) -> None:
        """A refused login or an unresolvable broker, reported through the error callback,
        stops the stream; connection drops and retries are librdkafka's to handle."""
        cause = self._errors.cause(self._settings, "consuming stream.topic")
        self._errors.clear()
        if cause is not None:
            raise cause

    def acknowledge(self, positions: Positions) -> None:
        """Commit the group's offsets for the partitions still owned (after the destination
        committed the same positions): advisory, for lag tools and for partitions the
        destination has not seen yet."""
        offsets = [
            TopicPartition(partition.topic, partition.partition, int(positions[key]))
            for key, partition in self._owned.items()
            if key in positions
        ]
        if not offsets:
            return
        try:
            results = self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as error:
            # The destination holds the positions: a refused commit (a rebalance under way)
            # only leaves the group's offsets behind until the next batch.
            logger.warning("committing the group's offsets: %s", error.args[0].str())
            return
        for result in results:
            if result.error is not None:
                logger.warning(
                    "committing %s/%s: %s", result.topic, result.partition, result.error.str()
                )

    def dead_letter(self, letters: Sequence[DeadLetter]) -> None:
        """Write `letters` to the dead-letter topic, keyed by their coordinates, and wait
        until the brokers have them all."""
        if not letters:
            return
        producer = self._dead_letter_producer()
        topic = self._settings.dead_letters
        failures: list[KafkaError] = []

        def delivered(error: KafkaError | None, _: Message) -> None:
            if error is not None:
                failures.append(error)

        for letter in letters:
            while True:
                try:
                    producer.produce(
                        topic,
                        value=letter.payload,
                        key=letter.coordinates.encode(),
                        headers=_headers(letter),
                        on_delivery=delivered,
                    )
                    break
                except BufferError:  # the local queue is full: let deliveries drain it
                    producer.poll(0.1)
        undelivered = producer.flush(DELIVERY_TIMEOUT_S)
        if failures or undelivered:
            raise self._delivery_error(topic, len(letters), failures, undelivered)

    def _dead_letter_producer(self) -> Producer:
        if self._producer is None:
            self._producer = Producer(
                {
                    **self._settings.client_config(self._password),
                    # Retries cannot duplicate or reorder a dead letter.
                    "enable.idempotence": True,
                    "acks": "all",
                    "message.timeout.ms": int(DELIVERY_TIMEOUT_S * 1000),
                    "linger.ms": 5,
                    "logger": librdkafka_logger,
                }
            )
        return self._producer

    def _delivery_error(
        self, topic: str, total: int, failures: list[KafkaError], undelivered: int
    ) -> PipelineError:
        codes = {failure.code() for failure in failures}
        if codes & {KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC}:
            return ConfigurationError(
                f"stream.dead_letter_topic {topic!r} does not exist: create it (default "
                "`<topic>.dlq`) or set stream.dead_letter_topic"
            )
        if KafkaError.TOPIC_AUTHORIZATION_FAILED in codes:
            return ConfigurationError(
                f"stream.dead_letter_topic {topic!r}: not authorized: grant the pipeline's "
                "principal Write and Describe on it"
            )
        reason = failures[0].str() if failures else "no acknowledgement in time"
        return TransientError(
            f"stream.dead_letter_topic {topic!r}: {len(failures) + undelivered} of {total} "
            f"dead letters not delivered ({reason}); the batch is not committed and is polled "
            "again"
        )

    def lag(self) -> dict[str, int]:
        """Records behind the end, per owned partition (end = the fetch's high watermark)."""
        lags: dict[str, int] = {}
        for key, partition in self._owned.items():
            low, high = self._consumer.get_watermark_offsets(
                partition, REQUEST_TIMEOUT_S, cached=True
            )
            if high < 0:  # not fetched yet: ask the broker
                low, high = self._consumer.get_watermark_offsets(partition, REQUEST_TIMEOUT_S)
            position = self._position(key, partition, low, high)
            lags[key] = max(high - position, 0)
        return lags

    def idle(self) -> bool:
        """Every owned partition read to its end (and the group joined)."""
        if not self._joined:
            return False
        for key, partition in self._owned.items():
            # The fetch's high watermark: Tansu's ListOffsets(latest) lags one batch behind.
            low, high = self._consumer.get_watermark_offsets(
                partition, REQUEST_TIMEOUT_S, cached=True
            )
            if high < 0 or self._position(key, partition, low, high) < high:
                return False
        return True

    def _position(self, key: str, partition: TopicPartition, low: int, high: int) -> int:
        """The next offset to read: known, else the group's committed offset, else where
        `auto_offset_reset` starts."""
        if key in self._positions:
            return self._positions[key]
        [current] = self._consumer.position([TopicPartition(partition.topic, partition.partition)])
        if current.offset >= 0:
            return current.offset
        [group] = self._consumer.committed(
            [TopicPartition(partition.topic, partition.partition)], REQUEST_TIMEOUT_S
        )
        if group.offset >= 0:
            return group.offset
        return low if self._settings.auto_offset_reset == "earliest" else high

    def close(self) -> None:
        """Leave the group (its partitions move to the other members at once) and flush
        any dead letter still queued. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self._consumer.close()
        finally:
            if self._producer is not None:
                self._producer.flush(DELIVERY_TIMEOUT_S)


def _headers(letter: DeadLetter) -> list[tuple[str, str | bytes | None]]:
    """Why the record is here and where it came from, for the replay and for people."""
    topic, partition, offset = letter.coordinates.rsplit("/", 2)
    return [
        ("reasons", ",".join(letter.reasons)),
        ("run_id", letter.run_id),
        ("source_topic", topic),
        ("source_partition", partition),
        ("source_offset", offset),
    ]


def open_stream(settings: StreamSettings, *, committed: Callable[[], Positions]) -> KafkaStream:
    """Join the consumer group of `settings.topic`; `committed()` reads the positions the
    destination holds, at each assignment."""
    settings.required()
    return KafkaStream(settings, resolved_password(settings), committed)
