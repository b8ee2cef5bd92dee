"""The Kinesis consumer: reads the shards this replica owns with GetRecords, in
micro-batches, from the positions the destination holds.

Which shards this replica reads. There is no lease protocol (ADR 0012): the Kubernetes
StatefulSet runs `stream.replica_count` consumers and gives each its ordinal as
`stream.replica_index` (the number at the end of the pod's name, `<name>-0`, `<name>-1`, ...).
Kinesis numbers shards in the order it creates them (`shardId-000000000007` is the stream's
eighth shard, whether it came from the creation, a split or a merge), so a shard's number is
its index in the stream's full, sorted shard list, and a replica owns the shards whose
number mod `replica_count` is its `replica_index`. That rule never moves a shard from one
replica to another while `replica_count` stays the same (an index into the list of the
shards ready *now* would shift each time a shard ends, and two replicas that saw the end at
different moments would read the same shard); replicas never overlap and together cover
every shard. Change `replica_count` only with every replica stopped and restarted. (In the
StatefulSet: PIPELINE_STREAM__REPLICA_INDEX from the pod label
`apps.kubernetes.io/pod-index` through the downward API, PIPELINE_STREAM__REPLICA_COUNT
equal to `replicas`.)

Resharding. A child shard (of a split or a merge) is read only once each of its parents is
drained: its position is "SHARD_END" in the destination's positions (any replica's commit)
or in this consumer's. A shard is drained when GetRecords returns no next iterator; its
position becomes "SHARD_END" in the batch that read its last records, and its children are
picked up at the next shard refresh (at once for the shards this replica drained; every
`SHARD_REFRESH_SECONDS` for those drained by other replicas). A child starts at its first
record; a shard with neither a position nor a known parent starts at
`stream.start_position`.

Positions are `{"<stream>/<shardId>": "<last sequence number read>"}` (strings: Kinesis
sequence numbers exceed 64 bits). A KPL-aggregated record is de-aggregated into its user
records, each with the coordinates `<stream>/<shard>/<sequence>:<subindex>`; a batch never
splits one, so it may hold up to one aggregated record's worth more than `max_records`.
Records fetched beyond a full batch wait in memory for the next poll (a restarted consumer
fetches them again from the committed positions).
The destination holds the positions; `acknowledge()` only remembers them.

Dead letters go to `stream.dead_letter_stream` with PutRecords, partition key = the
record's coordinates. Kinesis records carry no headers, so each is a JSON envelope:
`{"payload_b64": <the raw payload, base64, or null>, "coordinates": "...", "reasons":
[...], "run_id": "..."}` (a payload too large for one Kinesis record once encoded is left
out: `payload_b64` null and `payload_omitted_bytes` its size; the quarantine dataset has it).

Lag is Kinesis's `MillisBehindLatest` per shard: milliseconds between the last record read
and the shard's newest one (Kinesis does not say how many records that is).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import random
import re
import time
import zlib
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from ...errors import ConfigurationError, TransientError
from ...pipeline.retries import call_with_retries
from ..protocol import DeadLetter, Polled, Positions
from .configuration import (
    StreamSettings,
    classify,
    error_code,
    is_transient,
    kinesis_client,
)

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_kinesis.type_defs import (
        GetShardIteratorOutputTypeDef,
        ListShardsOutputTypeDef,
        PutRecordsRequestEntryTypeDef,
        RecordTypeDef,
        ShardTypeDef,
    )

logger = logging.getLogger(__name__)

SHARD_END = "SHARD_END"
# Kinesis allows 5 GetRecords per second per shard; never read one shard faster.
MIN_READ_INTERVAL_SECONDS = 0.2
MAX_RECORDS_PER_READ = 10_000
# How often shards drained by other replicas (and new shards) are looked for.
SHARD_REFRESH_SECONDS = 10.0
# Backoff of one shard's reads after throttling or a transient failure.
MIN_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 5.0
MAX_CONSECUTIVE_READ_FAILURES = 8
# PutRecords limits: 500 entries and 5 MiB a request, 1 MiB a record (data + key).
PUT_RECORDS_MAX_ENTRIES = 500
PUT_RECORDS_MAX_BYTES = 5 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024
MAX_PARTITION_KEY_LENGTH = 256
DEAD_LETTER_ATTEMPTS = 8
THROTTLING_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "KMSThrottlingException", "LimitExceededException"}
)
SHARD_NUMBER = re.compile(r"(\d+)$")

ResultT = TypeVar("ResultT")


@dataclass
class _Shard:
    """One owned, open shard: where reading it stands."""

    shard_id: str
    key: str
    position: str | None
    # Whether a parent of it was read: it then starts at its first record.
    parents_read: bool = False
    iterator: str | None = None
    # Records fetched but not yet in a batch (a batch ends between Kinesis records).
    pending: deque[RecordTypeDef] = field(default_factory=deque)
    next_read_at: float = 0.0
    backoff: float = 0.0
    failures: int = 0
    millis_behind: int | None = None
    # The last read returned nothing and MillisBehindLatest 0: at the shard's end for now.
    caught_up: bool = False


def shard_number(shard_id: str) -> int:
    """The shard's number: its index in the stream's sorted list of every shard it ever had
    (ids that do not end in one, which Kinesis does not make, hash to a stable number)."""
    match = SHARD_NUMBER.search(shard_id)
    return int(match.group(1)) if match else zlib.crc32(shard_id.encode())


def owns(shard_id: str, settings: StreamSettings) -> bool:
    """Whether this replica reads `shard_id` (see the module's docstring)."""
    return shard_number(shard_id) % settings.replica_count == settings.replica_index


class KinesisStream:
    """The shards of one Kinesis stream this replica owns, read in micro-batches (the
    Stream protocol of streams/protocol.py)."""

    def __init__(
        self,
        settings: StreamSettings,
        client: KinesisClient,
        committed: Callable[[], Positions],
    ) -> None:
        self._settings = settings
        self._client = client
        self._committed = committed
        self._stream = settings.stream_name
        # Every shard position this consumer knows: the destination's, then its own progress.
        self._positions: dict[str, str] = {}
        self._reading: dict[str, _Shard] = {}
        self._refresh_at = 0.0  # monotonic time of the next shard refresh (0: next poll)
        self._refreshed = False
        self._closed = False

    def _key(self, shard_id: str) -> str:
        return f"{self._stream}/{shard_id}"

    # -----------------------------------------------------------------------------------
    # Polling

    def poll(self, max_records: int, max_seconds: float) -> Polled:
        """Read up to `max_records` records (or for `max_seconds`) from the owned shards,
        each at most 5 times a second; may return an empty batch."""
        deadline = time.monotonic() + max_seconds
        if self._closed:
            return Polled(payloads=[], coordinates=[], since={}, to={})
        if time.monotonic() >= self._refresh_at:
            self._refresh()
        since: Positions = {
            shard.key: shard.position
            for shard in self._reading.values()
            if shard.position is not None
        }
        payloads: list[bytes | None] = []
        coordinates: list[str] = []
        while len(payloads) < max_records:
            now = time.monotonic()
            due = sorted(
                (s for s in self._reading.values() if s.pending or s.next_read_at <= now),
                key=lambda shard: shard.next_read_at,
            )
            for shard in due:
                if not shard.pending and shard.iterator:
                    self._read(shard, max_records - len(payloads))
                self._take(shard, max_records, payloads, coordinates)
                if len(payloads) >= max_records:
                    break
            open_shards = [s for s in self._reading.values() if s.iterator or s.pending]
            now = time.monotonic()
            if now >= deadline or (not open_shards and self._refresh_at == 0.0):
                # Out of time, or every shard drained: the next poll picks up children.
                break
            next_read = min((s.next_read_at for s in open_shards), default=deadline)
            if len(payloads) < max_records:
                time.sleep(max(0.0, min(next_read, deadline) - now))
        to: Positions = dict(since)
        for shard in list(self._reading.values()):
            if shard.position is not None:
                to[shard.key] = shard.position
                self._positions[shard.key] = shard.position
            if shard.position == SHARD_END:
                del self._reading[shard.shard_id]
        return Polled(payloads=payloads, coordinates=coordinates, since=since, to=to)

    def _read(self, shard: _Shard, limit: int) -> None:
        """One GetRecords on `shard`, its records kept in order until a batch takes them."""
        assert shard.iterator is not None
        try:
            response = self._client.get_records(
                ShardIterator=shard.iterator, Limit=min(limit, MAX_RECORDS_PER_READ)
            )
        except Exception as error:
            self._read_failed(shard, error)
            return
        shard.backoff = 0.0
        shard.failures = 0
        records = response["Records"]
        shard.pending.extend(records)
        shard.millis_behind = response.get("MillisBehindLatest")
        shard.caught_up = not records and shard.millis_behind == 0
        shard.iterator = response.get("NextShardIterator")
        # Read again soon while there is more; wait the poll interval once caught up.
        more = bool(records) or bool(shard.millis_behind)
        interval = MIN_READ_INTERVAL_SECONDS if more else self._settings.poll_interval_seconds
        shard.next_read_at = time.monotonic() + interval

    def _take(
        self,
        shard: _Shard,
        max_records: int,
        payloads: list[bytes | None],
        coordinates: list[str],
    ) -> None:
        """Move fetched records into the batch until it is full, never splitting an
        aggregated record (so a batch may exceed `max_records` by one's user records)."""
        while shard.pending and len(payloads) < max_records:
            record = shard.pending.popleft()
            self._append(shard, record, payloads, coordinates)
            shard.position = record["SequenceNumber"]
        if shard.iterator is None and not shard.pending:
            # Closed by a split or merge and fully read: its children are next.
            shard.position = SHARD_END
            self._refresh_at = 0.0

    def _read_failed(self, shard: _Shard, error: Exception) -> None:
        """Back off this shard after throttling or a transient failure; renew an expired
        iterator; anything else (or too many failures in a row) fails the poll."""
        code = error_code(error)
        if code == "ExpiredIteratorException":
            shard.iterator = self._iterator(shard)
            return
        if code not in THROTTLING_CODES and not is_transient(error):
            raise classify(error, f"reading shard {shard.key}", self._settings, self._stream)
        shard.failures += 1
        if shard.failures > MAX_CONSECUTIVE_READ_FAILURES:
            raise classify(error, f"reading shard {shard.key}", self._settings, self._stream)
        shard.backoff = min(max(shard.backoff * 2, MIN_BACKOFF_SECONDS), MAX_BACKOFF_SECONDS)
        # Jitter spreads replicas throttled together (not security-sensitive).
        shard.next_read_at = time.monotonic() + shard.backoff * random.uniform(0.5, 1.0)  # noqa: S311
        logger.warning(
            "reading shard %s: %s; backing off %.1f s",
            shard.key,
            code or type(error).__name__,
            shard.backoff,
        )

    def _append(
        self,
        shard: _Shard,
        record: RecordTypeDef,
        payloads: list[bytes | None],
        coordinates: list[str],
    ) -> None:
        data = record["Data"]
        where = f"{shard.key}/{record['SequenceNumber']}"
        user_records = deaggregated(data)
        if user_records is None:
            payloads.append(data or None)
            coordinates.append(where)
            return
        for index, user_record in enumerate(user_records):
            payloads.append(user_record or None)
            coordinates.append(f"{where}:{index}")

    # -----------------------------------------------------------------------------------
    # Shards

    def _refresh(self) -> None:
        """List the shards, learn which the destination says are drained, and start reading
        the owned shards whose parents are drained."""
        for key, value in self._committed().items():
            shard_id = key.removeprefix(f"{self._stream}/")
            if key.startswith(f"{self._stream}/") and shard_id not in self._reading:
                self._positions[key] = str(value)
        shards = self._list_shards()
        listed = {shard["ShardId"] for shard in shards}

        def drained(shard_id: str) -> bool:
            # A parent past the retention period is no longer listed: nothing is left in it.
            return shard_id not in listed or self._positions.get(self._key(shard_id)) == SHARD_END

        for shard in shards:
            shard_id = shard["ShardId"]
            key = self._key(shard_id)
            parents = _parents(shard)
            if (
                shard_id in self._reading
                or self._positions.get(key) == SHARD_END
                or not owns(shard_id, self._settings)
                or not all(drained(parent) for parent in parents)
            ):
                continue
            parents_read = any(self._key(parent) in self._positions for parent in parents)
            reading = _Shard(shard_id, key, self._positions.get(key), parents_read)
            reading.iterator = self._iterator(reading)
            self._reading[shard_id] = reading
        self._refresh_at = time.monotonic() + SHARD_REFRESH_SECONDS
        self._refreshed = True

    def _list_shards(self) -> list[ShardTypeDef]:
        """Every shard of the stream (ListShards, page by page)."""
        shards: list[ShardTypeDef] = []
        token: str | None = None
        while True:
            page = self._call("listing shards", partial(self._list_page, token))
            shards.extend(page["Shards"])
            token = page.get("NextToken")
            if not token:
                return shards

    def _list_page(self, token: str | None) -> ListShardsOutputTypeDef:
        # ListShards takes the stream name or a page token, never both.
        if token is None:
            return self._client.list_shards(StreamName=self._stream)
        return self._client.list_shards(NextToken=token)

    def _iterator(self, shard: _Shard) -> str | None:
        """A shard iterator just after the shard's position; else at its first record when
        its parents were read, else at `stream.start_position`."""
        what = f"opening shard {shard.key}"
        if shard.position is not None and shard.position != SHARD_END:
            position = shard.position

            def after_position() -> GetShardIteratorOutputTypeDef:
                try:
                    return self._client.get_shard_iterator(
                        StreamName=self._stream,
                        ShardId=shard.shard_id,
                        ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                        StartingSequenceNumber=position,
                    )
                except Exception as error:
                    if error_code(error) == "InvalidArgumentException":
                        raise ConfigurationError(
                            f"{what}: the destination's position {position} is no sequence "
                            "number of this shard (was the stream deleted and created "
                            "again?): check stream.stream_name, or give this stream a new "
                            "destination"
                        ) from None
                    raise

            response = self._call(what, after_position)
        else:
            start = "TRIM_HORIZON" if shard.parents_read else self._settings.start_position
            response = self._call(
                what,
                lambda: self._client.get_shard_iterator(
                    StreamName=self._stream, ShardId=shard.shard_id, ShardIteratorType=start
                ),
            )
        return response.get("ShardIterator")

    def _call(self, what: str, work: Callable[[], ResultT]) -> ResultT:
        try:
            return call_with_retries(work, what=what, is_transient=is_transient)
        except Exception as error:
            raise classify(error, what, self._settings, self._stream) from None

    # -----------------------------------------------------------------------------------
    # The rest of the protocol

    def acknowledge(self, positions: Positions) -> None:
        """Remember the committed positions: the destination holds them, Kinesis has no
        consumer offsets to tell."""
        for key, value in positions.items():
            if key.startswith(f"{self._stream}/"):
                self._positions[key] = str(value)

    def dead_letter(self, letters: Sequence[DeadLetter]) -> None:
        """Write `letters` to the dead-letter stream (JSON envelopes), retrying the entries
        PutRecords refuses; returns once every one is stored."""
        batch: list[PutRecordsRequestEntryTypeDef] = []
        batch_bytes = 0
        for letter in letters:
            data, key = dead_letter_record(letter)
            size = len(data) + len(key)
            if batch and (
                len(batch) == PUT_RECORDS_MAX_ENTRIES or batch_bytes + size > PUT_RECORDS_MAX_BYTES
            ):
                self._put_all(batch)
                batch, batch_bytes = [], 0
            batch.append({"Data": data, "PartitionKey": key})
            batch_bytes += size
        if batch:
            self._put_all(batch)

    def _put_all(self, entries: list[PutRecordsRequestEntryTypeDef]) -> None:
        stream = self._settings.dead_letter_stream
        what = f"writing {len(entries)} dead letter(s) to stream {stream!r}"
        pending = entries
        codes: set[str] = set()
        for attempt in range(DEAD_LETTER_ATTEMPTS):
            if attempt:
                time.sleep(min(MIN_BACKOFF_SECONDS * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS))
            try:
                response = self._client.put_records(StreamName=stream, Records=pending)
            except Exception as error:
                if not is_transient(error):
                    raise classify(error, what, self._settings, stream) from None
                codes = {error_code(error) or type(error).__name__}
                continue
            results = response["Records"]
            failed = [e for e, r in zip(pending, results, strict=True) if r.get("ErrorCode")]
            if not failed:
                return
            codes = {str(r.get("ErrorCode")) for r in results if r.get("ErrorCode")}
            pending = failed
        raise TransientError(
            f"{what}: {len(pending)} still refused after {DEAD_LETTER_ATTEMPTS} attempts "
            f"({', '.join(sorted(codes))}): the batch is not committed; rerun"
        )

    def lag(self) -> dict[str, int]:
        """Milliseconds behind the newest record, per owned shard read so far
        (Kinesis's MillisBehindLatest)."""
        return {
            shard.key: shard.millis_behind
            for shard in self._reading.values()
            if shard.millis_behind is not None
        }

    def idle(self) -> bool:
        """Whether every owned open shard's last read returned nothing at its end, and no
        drained shard's children wait to be picked up."""
        return (
            self._refreshed
            and self._refresh_at != 0.0
            and all(shard.caught_up and not shard.pending for shard in self._reading.values())
        )

    def close(self) -> None:
        """Stop reading (no lease or group to leave) and close the connections."""
        self._closed = True
        self._reading.clear()
        self._client.close()


def _parents(shard: ShardTypeDef) -> list[str]:
    return [
        parent
        for parent in (shard.get("ParentShardId"), shard.get("AdjacentParentShardId"))
        if parent
    ]


def deaggregated(data: bytes) -> list[bytes] | None:
    """The user records of a KPL-aggregated record (magic, protobuf, MD5), or None for a
    plain record (including one that only looks aggregated: its MD5 or protobuf is wrong)."""
    from aws_kinesis_agg import DIGEST_SIZE, MAGIC  # type: ignore[import-untyped]

    if not data.startswith(MAGIC) or len(data) <= len(MAGIC) + DIGEST_SIZE:
        return None
    # Importing the deaggregator puts the package's folder on sys.path, which its generated
    # protobuf modules need (they import each other by bare name).
    from aws_kinesis_agg import deaggregator
    from google.protobuf.message import DecodeError

    message, digest = data[len(MAGIC) : -DIGEST_SIZE], data[-DIGEST_SIZE:]
    if hashlib.md5(message, usedforsecurity=False).digest() != digest:
        return None
    aggregated = deaggregator.messages_pb2.AggregatedRecord()
    try:
        aggregated.ParseFromString(message)
    except DecodeError:
        return None
    return [bytes(record.data) for record in aggregated.records]


def dead_letter_record(letter: DeadLetter) -> tuple[bytes, str]:
    """One dead letter as a Kinesis record: its JSON envelope and partition key (the
    coordinates)."""
    key = letter.coordinates
    if len(key) > MAX_PARTITION_KEY_LENGTH:
        key = hashlib.sha256(key.encode()).hexdigest()
    envelope: dict[str, object] = {
        "payload_b64": None,
        "coordinates": letter.coordinates,
        "reasons": list(letter.reasons),
        "run_id": letter.run_id,
    }
    if letter.payload is not None:
        envelope["payload_b64"] = base64.b64encode(letter.payload).decode("ascii")
    data = json.dumps(envelope, separators=(",", ":")).encode()
    if len(data) + len(key) > MAX_RECORD_BYTES and letter.payload is not None:
        envelope["payload_b64"] = None
        envelope["payload_omitted_bytes"] = len(letter.payload)
        data = json.dumps(envelope, separators=(",", ":")).encode()
    return data, key


def open_stream(settings: StreamSettings, *, committed: Callable[[], Positions]) -> KinesisStream:
    """Connect to Kinesis for this replica's shards; they are listed and opened at the
    first poll, from the positions `committed()` returns."""
    if not settings.stream_name:
        raise ConfigurationError("stream.stream_name is not set: set PIPELINE_STREAM__STREAM_NAME")
    return KinesisStream(settings, kinesis_client(settings), committed)
