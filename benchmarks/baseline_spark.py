# /// script
# requires-python = ">=3.11"
# dependencies = ["pyspark>=4.0,<5", "deltalake>=1.6,<2"]
# ///
"""Hand-written PySpark baseline: the orders job a rendered spark pipeline is measured against.

It does exactly the pipeline's work, the way a competent engineer would write it in one
script on one machine (`local[*]`): one plan (read, cast, normalise, derive, flag test orders,
rule failures and superseded copies), cached once, one aggregation for every count, then
two writes. Rows are flagged rather than filtered so that one pass yields every count.
Session settings are the pipeline's defaults (UTC, 2 GiB driver, 2 shuffle partitions per
core, microsecond Parquet timestamps, zstd), so both sides start the same JVM.

One row per order_id, by the pipeline's rule (`semantics/merge.py`): among the VALID rows
only, the copy last in source order (source file, in name order, then record) wins; the
others are counted as `superseded`. Test orders are `filtered`; invalid rows are
`quarantined` whatever their key. (The benchmark's source names no date, so there is no
source partition to rank by.)

    python benchmarks/baseline_spark.py --source orders.parquet --out OUT_DIR

writes OUT_DIR/dataset/ (a Delta Lake table of the written rows, partitioned by order_date,
zstd) and OUT_DIR/quarantine/*.parquet (quarantined rows with their reason codes), and
prints one JSON line with the counts. OUT_DIR/dataset must not exist yet. Exit status 3
means a `fail` rule fired: nothing was written.

The Delta table: Spark's own Delta writer needs the delta-spark JARs, which the pipeline
does without, so Spark writes the rows as hive-partitioned Parquet with its own writer and
delta-rs `convert_to_deltalake` adds the Delta log over those files (it reads their footers;
the rows are written once, by Spark).

CSV sources (all columns read as text, then cast; unparseable values are flagged
TYPE_MISMATCH:<column>) are accepted too, so the bundled sample's counts can be cross-checked.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from importlib import metadata
from pathlib import Path

from deltalake import Field, Schema, convert_to_deltalake
from deltalake.schema import PrimitiveType
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

RATES_TO_EUR = {"EUR": 1.0, "USD": 0.92, "GBP": 1.17, "SEK": 0.087, "CHF": 1.05}
CURRENCIES = list(RATES_TO_EUR)
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
TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"
AMOUNT_IMPLAUSIBLE = 1_000_000
EXIT_FAIL_RULE = 3
CAST_COLUMNS = ["ordered_at", "amount"]


# Rules by severity (functions: Spark columns need a running session). Null-safe: a null
# never passes a quarantine check by accident.
def quarantine_rules() -> dict[str, Column]:
    return {
        "ORDER_ID_MISSING": F.col("order_id").isNull(),
        "CUSTOMER_ID_MISSING": F.col("customer_id").isNull(),
        "ORDERED_AT_MISSING": F.col("ordered_at").isNull(),
        "AMOUNT_MISSING": F.col("amount").isNull(),
        "AMOUNT_NEGATIVE": F.coalesce(F.col("amount") < 0, F.lit(False)),
        "CURRENCY_UNSUPPORTED": ~F.coalesce(F.col("currency").isin(CURRENCIES), F.lit(False)),
    }


def warn_rules() -> dict[str, Column]:
    return {"COUNTRY_MISSING": F.col("country").isNull()}


def fail_rules() -> dict[str, Column]:
    return {"AMOUNT_IMPLAUSIBLE": F.coalesce(F.col("amount") > AMOUNT_IMPLAUSIBLE, F.lit(False))}


def session() -> SparkSession:
    cores = os.cpu_count() or 2
    return (
        SparkSession.builder.master("local[*]")
        .appName("baseline")
        .config("spark.driver.memory", "2g")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(2 * cores))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.sql.parquet.compression.codec", "zstd")
        .getOrCreate()
    )


def scan(spark: SparkSession, sources: list[str]) -> DataFrame:
    """Typed columns, one `_mismatch_<column>` flag per cast column, and source order (files
    in name order, then records: the order in which later copies of a key win)."""
    frames = []
    for index, source in enumerate(sorted(sources)):
        if source.endswith(".csv"):
            schema = ", ".join(f"{name} string" for name in SOURCE_COLUMNS)
            # For the sample cross-check: a small CSV is one split, read in row order.
            raw = spark.read.schema(schema).option("header", True).csv(source)
            text = {column: F.trim(F.col(column)) for column in CAST_COLUMNS}
            parsed = {
                "ordered_at": F.when(
                    text["ordered_at"].rlike(TIMESTAMP_PATTERN),
                    text["ordered_at"].try_cast("timestamp"),
                ),
                "amount": F.when(
                    text["amount"].rlike(r"^[+-]?(\d+\.?\d*|\.\d+)$"),
                    text["amount"].try_cast("double"),
                ),
            }
            frame = raw.select(
                *(parsed.get(name, F.col(name)).alias(name) for name in SOURCE_COLUMNS),
                *(
                    (F.col(c).isNotNull() & parsed[c].isNull()).alias(f"_mismatch_{c}")
                    for c in CAST_COLUMNS
                ),
                F.monotonically_increasing_id().alias("_row"),
            )
        else:
            # Typed Parquet: the cast is the file's own schema; there is nothing to flag.
            frame = spark.read.parquet(source).select(
                *SOURCE_COLUMNS,
                *(F.lit(False).alias(f"_mismatch_{c}") for c in CAST_COLUMNS),
                F.col("_metadata.row_index").alias("_row"),
            )
        frames.append(frame.withColumn("_file", F.lit(index)))
    result = frames[0]
    for frame in frames[1:]:
        result = result.unionByName(frame)
    return result


def plan(frame: DataFrame) -> DataFrame:
    """Normalise, derive and flag every row; nothing is dropped yet."""
    normalised = frame.withColumns(
        {
            "currency": F.upper(F.trim("currency")),
            "country": F.upper(F.trim("country")),
            "status": F.lower(F.trim("status")),
        }
    )
    is_test = F.col("status").eqNullSafe("test")  # a null status is not a test order
    rates = F.create_map(*(F.lit(v) for pair in RATES_TO_EUR.items() for v in pair))
    # Half to even on the scaled double, like polars' round(2) (Spark's round is half-up).
    amount_eur = F.rint(F.col("amount") * rates[F.col("currency")] * 100.0) / 100.0
    flagged = normalised.withColumns(
        {
            "order_date": F.to_date("ordered_at"),
            "amount_eur": amount_eur,
            "_test": is_test,
            **{f"_q_{code}": rule for code, rule in quarantine_rules().items()},
            **{f"_w_{code}": rule for code, rule in warn_rules().items()},
            **{f"_f_{code}": rule for code, rule in fail_rules().items()},
        }
    )
    reasons = [f"_mismatch_{c}" for c in CAST_COLUMNS] + [f"_q_{c}" for c in quarantine_rules()]
    quarantined = F.lit(False)
    for flag in reasons:
        quarantined = quarantined | F.col(flag)
    kept = ~F.col("_test")
    # One row per order_id among the valid rows: the last in source order wins. An invalid
    # row never replaces a valid one (it is quarantined instead), so rank valid ids only.
    valid_id = F.when(kept & ~quarantined, F.col("order_id"))
    later_first = Window.partitionBy(valid_id).orderBy(F.desc("_file"), F.desc("_row"))
    return flagged.withColumns(
        {
            "_kept": kept,
            "_quarantined": quarantined,
            "_superseded": valid_id.isNotNull() & (F.row_number().over(later_first) > 1),
        }
    )


def reason_codes() -> dict[str, str]:
    """Flag column -> reason code, in the order codes are listed for a row."""
    codes = {f"_mismatch_{c}": f"TYPE_MISMATCH:{c}" for c in CAST_COLUMNS}
    return codes | {f"_q_{code}": code for code in quarantine_rules()}


def count(flagged: DataFrame) -> dict:
    kept = F.col("_kept")

    def total(condition: Column, name: str) -> Column:
        return F.sum(condition.cast("long")).alias(name)

    row = flagged.select(
        F.count(F.lit(1)).alias("read"),
        total(F.col("_test"), "filtered"),
        total(kept & F.col("_quarantined"), "quarantined"),
        total(F.col("_superseded"), "superseded"),
        total(kept & ~F.col("_quarantined") & ~F.col("_superseded"), "written"),
        *(total(kept & F.col(flag), code) for flag, code in reason_codes().items()),
        *(total(kept & F.col(f"_w_{code}"), f"warn:{code}") for code in warn_rules()),
        *(total(kept & F.col(f"_f_{code}"), f"fail:{code}") for code in fail_rules()),
    ).collect()[0]
    value = {key: int(row[key] or 0) for key in row.asDict()}
    counts = {
        "read": value["read"],
        "filtered": value["filtered"],
        "quarantined": value["quarantined"],
        "superseded": value["superseded"],
        "written": value["written"],
        "reasons": {c: value[c] for c in sorted(reason_codes().values()) if value[c]},
        "warnings": {c: value[f"warn:{c}"] for c in warn_rules() if value[f"warn:{c}"]},
        "failures": {c: value[f"fail:{c}"] for c in fail_rules() if value[f"fail:{c}"]},
    }
    accounted = ("written", "superseded", "quarantined", "filtered")
    if counts["read"] != sum(counts[key] for key in accounted):
        raise RuntimeError(f"counts do not add up: {counts}")
    return counts


def run(spark: SparkSession, sources: list[str], out: Path) -> tuple[dict, int]:
    timings = {}
    started = time.perf_counter()
    flagged = plan(scan(spark, sources)).persist(StorageLevel.MEMORY_AND_DISK)
    counts = count(flagged)
    timings["read_and_count_s"] = time.perf_counter() - started
    if counts["failures"]:  # a `fail` rule fired: stop before writing anything
        return counts | {"status": "failed", "timings": timings}, EXIT_FAIL_RULE

    mark = time.perf_counter()
    kept = F.col("_kept")
    reasons = F.array_compact(
        F.array(*(F.when(F.col(flag), F.lit(code)) for flag, code in reason_codes().items()))
    )
    quarantined = flagged.where(kept & F.col("_quarantined")).select(
        *OUTPUT_COLUMNS, reasons.alias("reasons")
    )
    quarantined.coalesce(1).write.parquet(str(out / "quarantine"), compression="zstd")
    timings["write_quarantine_s"] = time.perf_counter() - mark

    mark = time.perf_counter()
    written = kept & ~F.col("_quarantined") & ~F.col("_superseded")
    valid = flagged.where(written).select(OUTPUT_COLUMNS)
    # One file per partition rather than one per task and partition.
    valid.repartition("order_date").write.partitionBy("order_date").parquet(
        str(out / "dataset"), compression="zstd"
    )
    # The Delta log over the files Spark wrote (it skips _SUCCESS and the .crc files).
    convert_to_deltalake(
        out / "dataset",
        partition_by=Schema([Field("order_date", PrimitiveType("date"))]),
        partition_strategy="hive",
    )
    timings["write_dataset_s"] = time.perf_counter() - mark
    timings["total_s"] = time.perf_counter() - started
    timings = {k: round(v, 3) for k, v in timings.items()}
    return counts | {"status": "ok", "timings": timings}, 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", nargs="+", required=True, help="Parquet file(s), or CSVs")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    args = parser.parse_args(argv)
    spark = session()
    spark.sparkContext.setLogLevel("ERROR")
    result, status = run(spark, args.source, args.out)
    print(json.dumps({"engine": "spark", "pyspark": metadata.version("pyspark"), **result}))
    spark.stop()
    return status


if __name__ == "__main__":
    sys.exit(main())
