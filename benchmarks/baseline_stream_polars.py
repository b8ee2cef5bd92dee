# /// script
# requires-python = ">=3.11"
# dependencies = ["polars>=1.30", "deltalake>=1.6,<2", "confluent-kafka>=2.12"]
# ///
"""Hand-written stream baseline: the micro-batch job a rendered streaming pipeline (Kafka,
Polars, local Delta) is measured against, as a competent engineer would write it in one
script with confluent-kafka, Polars and delta-rs.

Per micro-batch of up to `--batch-records` records (or `--batch-seconds`):

1. poll the group's partitions (confluent-kafka `consume`), remembering each record's
   coordinates (topic/partition/offset) and each partition's next offset;
2. decode the JSON payloads with Polars (`read_ndjson`, every contract column as text) and
   conform them: `ordered_at` to a UTC timestamp, `amount` to a float; text that was there
   but does not parse is TYPE_MISMATCH:<column>; a record that is not a JSON object
   (tombstone, malformed) is MALFORMED_JSON;
3. the rendered project's transforms (trim/case codes, order_date, amount_eur, drop test
   orders) and its rules (quarantine: ORDER_ID_MISSING, CUSTOMER_ID_MISSING,
   ORDERED_AT_MISSING, AMOUNT_MISSING, AMOUNT_NEGATIVE, CURRENCY_MISSING,
   CURRENCY_UNSUPPORTED; fail: AMOUNT_IMPLAUSIBLE);
4. the quarantined rows with their reasons and coordinates to one Parquet file per batch;
5. one row per order_id among the batch's valid rows (the last in poll order), MERGEd on
   the key into a Delta table partitioned by order_date (insert new keys, update matched
   ones), the batch's positions in the commit's metadata and an app transaction in the
   same commit (the first batch creates the table);
6. the offsets committed to the group (advisory, after the table commit).

Restarted, it seeks each assigned partition to the position the table holds. No dead-letter
topic (the pipeline writes one; this does not). It stops when every assigned partition is
at its end (`--until-idle`, partition EOF events).

    python benchmarks/baseline_stream_polars.py --bootstrap HOST:PORT --topic T --group G \
        --out OUT_DIR

writes OUT_DIR/dataset/ (the Delta table) and OUT_DIR/quarantine/<batch>.parquet, and
prints one JSON line: counts, per-batch latencies (poll to acknowledgement, and decode to
commit) and the time spent in each step.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import polars as pl
import pyarrow as pa
from confluent_kafka import Consumer, KafkaError, TopicPartition
from deltalake import CommitProperties, DeltaTable, Transaction, WriterProperties, write_deltalake

APP_ID = "orders-baseline"
POSITIONS_KEY = "positions"
RATES_TO_EUR = {"EUR": 1.0, "USD": 0.92, "GBP": 1.17, "SEK": 0.087, "CHF": 1.05}
SOURCE_COLUMNS = [
    "order_id",
    "customer_id",
    "ordered_at",
    "amount",
    "currency",
    "country",
    "status",
    "coupon_code",
]
OUTPUT_COLUMNS = [*SOURCE_COLUMNS, "order_date", "amount_eur"]
TEXT_SCHEMA = dict.fromkeys(SOURCE_COLUMNS, pl.String)
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
WRITER = WriterProperties(compression="ZSTD")
QUARANTINE_RULES = {
    "ORDER_ID_MISSING": pl.col("order_id").is_null(),
    "CUSTOMER_ID_MISSING": pl.col("customer_id").is_null(),
    "ORDERED_AT_MISSING": pl.col("ordered_at").is_null(),
    "AMOUNT_MISSING": pl.col("amount").is_null(),
    "AMOUNT_NEGATIVE": (pl.col("amount") < 0).fill_null(False),
    "CURRENCY_MISSING": pl.col("currency").is_null(),
    # A null currency is CURRENCY_MISSING only (accepted-values rules skip nulls).
    "CURRENCY_UNSUPPORTED": pl.col("currency").is_in(list(RATES_TO_EUR)).not_().fill_null(False),
}
FAIL_RULES = {"AMOUNT_IMPLAUSIBLE": (pl.col("amount") > 1_000_000).fill_null(False)}
EXIT_FAIL_RULE = 3


class Batcher:
    """The group member: polls micro-batches, knows each owned partition's position."""

    def __init__(self, args: argparse.Namespace, committed: dict[str, int]) -> None:
        self.topic = args.topic
        self.committed = committed
        self.at_end: set[int] = set()
        self.owned: set[int] = set()
        self.positions: dict[str, int] = dict(committed)
        self.consumer = Consumer(
            {
                "bootstrap.servers": args.bootstrap,
                "group.id": args.group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "enable.partition.eof": True,
                "session.timeout.ms": args.session_timeout_ms,
                "fetch.max.bytes": 64 << 20,
                "max.partition.fetch.bytes": 8 << 20,
                "queued.max.messages.kbytes": 256 << 10,
            }
        )
        self.consumer.subscribe([self.topic], on_assign=self._assigned, on_revoke=self._revoked)

    def _assigned(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Seek to the table's positions; partitions it never saw start from the group's.
        for partition in partitions:
            key = f"{partition.topic}/{partition.partition}"
            if key in self.committed:
                partition.offset = self.committed[key]
            self.owned.add(partition.partition)
        consumer.assign(partitions)

    def _revoked(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for partition in partitions:
            self.owned.discard(partition.partition)
            self.at_end.discard(partition.partition)
        consumer.unassign()

    def idle(self) -> bool:
        return bool(self.owned) and self.owned <= self.at_end

    def poll(self, max_records: int, max_seconds: float) -> tuple[list, list, dict, dict]:
        """Up to `max_records` payloads, their coordinates, and the positions before and
        after them."""
        since = dict(self.positions)
        payloads: list[bytes | None] = []
        coordinates: list[tuple[int, int]] = []
        deadline = time.monotonic() + max_seconds
        while len(payloads) < max_records:
            left = deadline - time.monotonic()
            if left <= 0 or self.idle():
                break
            for message in self.consumer.consume(max_records - len(payloads), min(left, 0.5)):
                error = message.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        self.at_end.add(message.partition())
                        continue
                    raise RuntimeError(error.str())
                partition = message.partition()
                self.at_end.discard(partition)
                payloads.append(message.value())
                coordinates.append((partition, message.offset()))
                self.positions[f"{self.topic}/{partition}"] = message.offset() + 1
        return payloads, coordinates, since, dict(self.positions)

    def acknowledge(self, positions: dict[str, int]) -> None:
        offsets = [
            TopicPartition(self.topic, int(key.rsplit("/", 1)[1]), offset)
            for key, offset in positions.items()
        ]
        if offsets:
            self.consumer.commit(offsets=offsets, asynchronous=False)


def decode(payloads: list[bytes | None]) -> tuple[pl.DataFrame, list[int]]:
    """The JSON objects as text columns plus `_index` (poll position); the positions of
    records that are not JSON objects."""
    try:
        if any(p is None or b"\n" in p for p in payloads):
            raise ValueError("a tombstone or a multi-line payload: record by record")
        frame = pl.read_ndjson(io.BytesIO(b"\n".join(payloads)), schema=TEXT_SCHEMA)
        if frame.height != len(payloads):
            raise ValueError("not one row per record")
        return frame.with_row_index("_index"), []
    except Exception:  # the exact path: which records are not JSON objects
        rows, indices, bad = [], [], []
        for index, payload in enumerate(payloads):
            try:
                record = json.loads(payload) if payload is not None else None
            except ValueError:
                record = None
            if not isinstance(record, dict):
                bad.append(index)
                continue
            rows.append(
                {c: None if record.get(c) is None else str(record[c]) for c in SOURCE_COLUMNS}
            )
            indices.append(index)
        frame = pl.DataFrame(rows, schema=TEXT_SCHEMA, orient="row")
        return frame.with_columns(pl.Series("_index", indices, pl.UInt32)).select(
            "_index", *SOURCE_COLUMNS
        ), bad


def conform(frame: pl.DataFrame) -> pl.DataFrame:
    """Typed columns, mismatch flags, the transforms, the rules and the batch's winners."""
    text = {c: pl.col(c) for c in ("ordered_at", "amount")}
    parsed = {
        "ordered_at": text["ordered_at"].str.to_datetime(
            TIMESTAMP_FORMAT, time_zone="UTC", time_unit="us", strict=False
        ),
        "amount": text["amount"].cast(pl.Float64, strict=False),
    }
    typed = (
        frame.lazy()
        .with_columns(
            **{f"_mismatch_{c}": text[c].is_not_null() & parsed[c].is_null() for c in parsed}
        )
        .with_columns(**parsed)
    )
    normalised = typed.with_columns(
        pl.col("currency").str.strip_chars().str.to_uppercase(),
        pl.col("country").str.strip_chars().str.to_uppercase(),
        pl.col("status").str.strip_chars().str.to_lowercase(),
    )
    rate = pl.col("currency").replace_strict(RATES_TO_EUR, default=None, return_dtype=pl.Float64)
    kept = normalised.with_columns(
        order_date=pl.col("ordered_at").dt.date(),
        amount_eur=(pl.col("amount") * rate).round(2),
    ).filter(pl.col("status").eq_missing("test").not_())
    flags = {f"_mismatch_{c}": f"TYPE_MISMATCH:{c}" for c in parsed}
    flags |= {f"_q_{code}": code for code in QUARANTINE_RULES}
    flagged = kept.with_columns(
        **{f"_q_{code}": rule for code, rule in QUARANTINE_RULES.items()},
        _fail=pl.any_horizontal(FAIL_RULES.values()),
    ).with_columns(
        reasons=pl.concat_list(
            pl.when(pl.col(flag)).then(pl.lit(code)) for flag, code in flags.items()
        ).list.drop_nulls()
    )
    return flagged.collect()


class Table:
    """The Delta table: MERGE on the key, positions in the same commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.table = DeltaTable(str(path)) if DeltaTable.is_deltatable(str(path)) else None

    def positions(self) -> dict[str, int]:
        if self.table is None:
            return {}
        for commit in self.table.history(1):
            if POSITIONS_KEY in commit:
                return json.loads(commit[POSITIONS_KEY])
        return {}

    def commit(
        self, rows: pa.Table, positions: dict[str, int], prune: bool, streamed: bool
    ) -> None:
        version = 1 if self.table is None else (self.table.transaction_version(APP_ID) or 0) + 1
        properties = CommitProperties(
            custom_metadata={POSITIONS_KEY: json.dumps(positions, sort_keys=True)},
            app_transactions=[Transaction(APP_ID, version)],
        )
        if self.table is None:
            write_deltalake(
                str(self.path),
                rows,
                partition_by=["order_date"],
                mode="append",
                commit_properties=properties,
                writer_properties=WRITER,
            )
            self.table = DeltaTable(str(self.path))
            return
        predicate = "t.order_id = s.order_id"
        if prune:  # a key never changes its date in this data: only its dates' files
            dates = sorted({str(d) for d in rows.column("order_date").unique().to_pylist()})
            predicate += " AND t.order_date IN (" + ", ".join(f"'{d}'" for d in dates) + ")"
        (
            self.table.merge(
                source=rows,
                predicate=predicate,
                source_alias="s",
                target_alias="t",
                commit_properties=properties,
                writer_properties=WRITER,
                # True is delta-rs's default and the pipeline's; False lets delta-rs prune the
                # table's files by the source's stats (the batch is small and in memory).
                streamed_exec=streamed,
            )
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute()
        )


def run(args: argparse.Namespace) -> tuple[dict, int]:
    table = Table(args.out / "dataset")
    quarantine_dir = args.out / "quarantine"
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    batcher = Batcher(args, table.positions())
    counts = dict.fromkeys(("read", "filtered", "quarantined", "superseded", "written"), 0)
    reasons: dict[str, int] = {}
    spent = dict.fromkeys(("poll", "decode", "conform", "quarantine", "merge", "ack"), 0.0)
    batch_ms: list[float] = []
    process_ms: list[float] = []
    first_batch = last_batch = None
    batches = 0
    while True:
        started = time.perf_counter()
        payloads, coordinates, _, to = batcher.poll(args.batch_records, args.batch_seconds)
        polled = time.perf_counter()
        spent["poll"] += polled - started
        if not payloads:
            if batcher.idle() and args.until_idle:
                break
            continue
        first_batch = first_batch or started
        frame, malformed = decode(payloads)
        mark = time.perf_counter()
        spent["decode"] += mark - polled
        flagged = conform(frame)
        if flagged.get_column("_fail").any():
            return counts | {"status": "failed"}, EXIT_FAIL_RULE
        quarantined = flagged.filter(pl.col("reasons").list.len() > 0)
        valid = flagged.filter(pl.col("reasons").list.len() == 0)
        winners = valid.unique("order_id", keep="last", maintain_order=True)
        now = time.perf_counter()
        spent["conform"] += now - mark
        mark = now

        partitions = pl.Series([p for p, _ in coordinates], dtype=pl.Int32)
        offsets = pl.Series([o for _, o in coordinates], dtype=pl.Int64)
        bad = pl.DataFrame(
            {
                "_index": pl.Series(malformed, dtype=pl.UInt32),
                "reasons": [["MALFORMED_JSON"]] * len(malformed),
            },
            schema={"_index": pl.UInt32, "reasons": pl.List(pl.String)},
        )
        out = pl.concat(
            [quarantined.select(OUTPUT_COLUMNS, "_index", "reasons"), bad], how="diagonal"
        )
        if out.height:
            index = out.get_column("_index")
            out = out.with_columns(
                _partition=partitions.gather(index), _offset=offsets.gather(index)
            ).drop("_index")
            out.write_parquet(quarantine_dir / f"batch-{batches:06d}.parquet", compression="zstd")
            for reason, n in out.get_column("reasons").explode().value_counts().iter_rows():
                reasons[reason] = reasons.get(reason, 0) + n
        now = time.perf_counter()
        spent["quarantine"] += now - mark
        mark = now

        rows = winners.select(OUTPUT_COLUMNS).to_arrow()
        table.commit(rows, to, args.prune, not args.materialized_source)
        now = time.perf_counter()
        spent["merge"] += now - mark
        batcher.acknowledge(to)
        done = time.perf_counter()
        spent["ack"] += done - now
        last_batch = done
        batches += 1
        batch_ms.append((done - started) * 1000)
        process_ms.append((done - polled) * 1000)
        counts["read"] += len(payloads)
        counts["filtered"] += frame.height - flagged.height
        counts["quarantined"] += out.height
        counts["superseded"] += valid.height - winners.height
        counts["written"] += winners.height
    batcher.consumer.close()
    return counts | {
        "status": "ok",
        "batches": batches,
        "reasons": dict(sorted(reasons.items())),
        "batch_ms": [round(v, 2) for v in batch_ms],
        "process_ms": [round(v, 2) for v in process_ms],
        "busy_s": round((last_batch or 0) - (first_batch or 0), 3),
        "spent_s": {k: round(v, 3) for k, v in spent.items()},
    }, 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--batch-records", type=int, default=10_000)
    parser.add_argument("--batch-seconds", type=float, default=1.0)
    parser.add_argument("--session-timeout-ms", type=int, default=6_000)
    parser.add_argument("--until-idle", action="store_true")
    parser.add_argument(
        "--prune", action="store_true", help="add the batch's order_dates to the MERGE predicate"
    )
    parser.add_argument(
        "--materialized-source",
        action="store_true",
        help="MERGE with streamed_exec=False (delta-rs then prunes by the source's stats)",
    )
    args = parser.parse_args(argv)
    result, status = run(args)
    print(json.dumps({"engine": "polars", "polars": pl.__version__, **result}))
    return status


if __name__ == "__main__":
    sys.exit(main())
