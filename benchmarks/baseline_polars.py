# /// script
# requires-python = ">=3.11"
# dependencies = ["polars>=1.30", "deltalake>=1.6,<2"]
# ///
"""Hand-written Polars baseline: the orders job a rendered polars pipeline is measured against.

It does exactly the pipeline's work, the way a competent engineer would write it in one
script: one lazy plan (scan, cast, normalise, derive, flag test orders, rule failures and
superseded copies), collected once with the in-memory engine, then two writes. Rows are
flagged rather than filtered inside the plan so that one pass yields every count.

One row per order_id, by the pipeline's rule (`semantics/merge.py`): among the VALID rows
only, the copy last in source order (source file, in name order, then record) wins; the
others are counted as `superseded`. Test orders are `filtered`; invalid rows are
`quarantined` whatever their key. (The benchmark's source names no date, so there is no
source partition to rank by.)

    python benchmarks/baseline_polars.py --source orders.parquet --out OUT_DIR

writes OUT_DIR/dataset/ (a Delta Lake table of the valid rows, partitioned by order_date,
zstd) and OUT_DIR/quarantine/quarantine.parquet (quarantined rows with their reason codes),
and prints one JSON line with the counts. An existing table at OUT_DIR/dataset is
overwritten (a new version). Exit status 3 means a `fail` rule fired: nothing was written.

CSV sources (all columns read as text, then cast; unparseable values are flagged
TYPE_MISMATCH:<column>) are accepted too, so the bundled sample's counts can be cross-checked.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import polars as pl
from deltalake import WriterProperties

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
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
AMOUNT_IMPLAUSIBLE = 1_000_000
EXIT_FAIL_RULE = 3

# Rules by severity. Null-safe: a null never passes a quarantine check by accident
# (`is_in` on a null currency is null, so it is filled to "not supported").
QUARANTINE_RULES = {
    "ORDER_ID_MISSING": pl.col("order_id").is_null(),
    "CUSTOMER_ID_MISSING": pl.col("customer_id").is_null(),
    "ORDERED_AT_MISSING": pl.col("ordered_at").is_null(),
    "AMOUNT_MISSING": pl.col("amount").is_null(),
    "AMOUNT_NEGATIVE": (pl.col("amount") < 0).fill_null(False),
    "CURRENCY_UNSUPPORTED": pl.col("currency").is_in(CURRENCIES).fill_null(False).not_(),
}
WARN_RULES = {"COUNTRY_MISSING": pl.col("country").is_null()}
FAIL_RULES = {"AMOUNT_IMPLAUSIBLE": (pl.col("amount") > AMOUNT_IMPLAUSIBLE).fill_null(False)}
CAST_COLUMNS = ["ordered_at", "amount"]


def scan(sources: list[str]) -> pl.LazyFrame:
    """Typed columns plus one `_mismatch_<column>` flag per cast column, in source order.

    Files are read in name order, so a row's position in the scan is its rank by (source
    file, record): the order in which later copies of a key win."""
    sources = sorted(sources)
    if all(source.endswith(".csv") for source in sources):
        raw = pl.scan_csv(sources, schema=dict.fromkeys(SOURCE_COLUMNS, pl.String))
        parsed = {
            "ordered_at": pl.col("ordered_at").str.to_datetime(
                TIMESTAMP_FORMAT, time_zone="UTC", strict=False
            ),
            "amount": pl.col("amount").cast(pl.Float64, strict=False),
        }
        # Text that was there but did not parse is a type mismatch; empty text is missing.
        return raw.with_columns(
            **parsed,
            **{f"_mismatch_{c}": pl.col(c).is_not_null() & parsed[c].is_null() for c in parsed},
        )
    # Typed Parquet: the cast is the file's own schema; there is nothing to flag.
    return pl.scan_parquet(sources).with_columns(
        **{f"_mismatch_{column}": pl.lit(False) for column in CAST_COLUMNS}
    )


def plan(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Normalise, derive and flag every row; nothing is dropped yet."""
    normalised = frame.with_columns(
        pl.col("currency").str.strip_chars().str.to_uppercase(),
        pl.col("country").str.strip_chars().str.to_uppercase(),
        pl.col("status").str.strip_chars().str.to_lowercase(),
    )
    is_test = pl.col("status").eq_missing("test")  # a null status is not a test order
    rate = pl.col("currency").replace_strict(RATES_TO_EUR, default=None, return_dtype=pl.Float64)
    flagged = normalised.with_columns(
        order_date=pl.col("ordered_at").dt.date(),
        amount_eur=(pl.col("amount") * rate).round(2),
        _test=is_test,
        **{f"_q_{code}": rule for code, rule in QUARANTINE_RULES.items()},
        **{f"_w_{code}": rule for code, rule in WARN_RULES.items()},
        **{f"_f_{code}": rule for code, rule in FAIL_RULES.items()},
    )
    reasons = [f"_mismatch_{c}" for c in CAST_COLUMNS] + [f"_q_{c}" for c in QUARANTINE_RULES]
    kept, quarantined = pl.col("_test").not_(), pl.any_horizontal(reasons)
    # One row per order_id among the valid rows: the last in source order wins. An invalid
    # row never replaces a valid one (it is quarantined instead), so rank valid ids only.
    valid_id = pl.when(kept & quarantined.not_()).then(pl.col("order_id"))
    return flagged.with_columns(
        _kept=kept,
        _quarantined=quarantined,
        _superseded=valid_id.is_not_null() & valid_id.is_last_distinct().not_(),
    )


def reason_codes() -> dict[str, str]:
    """Flag column -> reason code, in the order codes are listed for a row."""
    codes = {f"_mismatch_{c}": f"TYPE_MISMATCH:{c}" for c in CAST_COLUMNS}
    return codes | {f"_q_{code}": code for code in QUARANTINE_RULES}


def count(flagged: pl.DataFrame) -> dict:
    kept, superseded = pl.col("_kept"), pl.col("_superseded")
    row = flagged.select(
        read=pl.len(),
        filtered=pl.col("_test").sum(),
        quarantined=(kept & pl.col("_quarantined")).sum(),
        superseded=superseded.sum(),
        written=(kept & pl.col("_quarantined").not_() & superseded.not_()).sum(),
        **{code: (kept & pl.col(flag)).sum() for flag, code in reason_codes().items()},
        **{f"warn:{code}": (kept & pl.col(f"_w_{code}")).sum() for code in WARN_RULES},
        **{f"fail:{code}": (kept & pl.col(f"_f_{code}")).sum() for code in FAIL_RULES},
    ).row(0, named=True)
    counts = {
        "read": row["read"],
        "filtered": row["filtered"],
        "quarantined": row["quarantined"],
        "superseded": row["superseded"],
        "written": row["written"],
        "reasons": {c: row[c] for c in sorted(reason_codes().values()) if row[c]},
        "warnings": {c: row[f"warn:{c}"] for c in WARN_RULES if row[f"warn:{c}"]},
        "failures": {c: row[f"fail:{c}"] for c in FAIL_RULES if row[f"fail:{c}"]},
    }
    accounted = ("written", "superseded", "quarantined", "filtered")
    if counts["read"] != sum(counts[key] for key in accounted):
        raise RuntimeError(f"counts do not add up: {counts}")
    return counts


def write_dataset(valid: pl.LazyFrame, path: Path, writer: str) -> None:
    """A Delta Lake table partitioned by order_date, zstd, written in one commit.

    `write_delta` materialises the valid rows, then hands them to delta-rs; `sink_delta`
    (unstable in Polars 2.1) streams them from the in-memory frame without that copy.
    """
    options = {
        "partition_by": ["order_date"],
        "writer_properties": WriterProperties(compression="ZSTD"),
    }
    if writer == "write_delta":
        valid.collect(engine="in-memory").write_delta(
            path, mode="overwrite", delta_write_options=options
        )
    else:
        valid.sink_delta(path, mode="overwrite", delta_write_options=options)


def run(sources: list[str], out: Path, writer: str) -> tuple[dict, int]:
    timings = {}
    started = time.perf_counter()
    flagged = plan(scan(sources)).collect(engine="in-memory")
    timings["collect_s"] = time.perf_counter() - started

    mark = time.perf_counter()
    counts = count(flagged)
    timings["count_s"] = time.perf_counter() - mark
    if counts["failures"]:  # a `fail` rule fired: stop before writing anything
        return counts | {"status": "failed", "timings": timings}, EXIT_FAIL_RULE

    mark = time.perf_counter()
    kept = pl.col("_kept")
    quarantined = flagged.filter(kept & pl.col("_quarantined")).select(
        *OUTPUT_COLUMNS,
        reasons=pl.concat_list(
            pl.when(pl.col(flag)).then(pl.lit(code)) for flag, code in reason_codes().items()
        ).list.drop_nulls(),
    )
    (out / "quarantine").mkdir(parents=True, exist_ok=True)
    quarantined.write_parquet(out / "quarantine" / "quarantine.parquet", compression="zstd")
    timings["write_quarantine_s"] = time.perf_counter() - mark

    mark = time.perf_counter()
    # Lazy over the in-memory frame, so only the output columns of written rows are copied.
    written = kept & pl.col("_quarantined").not_() & pl.col("_superseded").not_()
    valid = flagged.lazy().filter(written).select(OUTPUT_COLUMNS)
    write_dataset(valid, out / "dataset", writer)
    timings["write_dataset_s"] = time.perf_counter() - mark
    timings["total_s"] = time.perf_counter() - started
    timings = {k: round(v, 3) for k, v in timings.items()}
    return counts | {"status": "ok", "timings": timings}, 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", nargs="+", required=True, help="Parquet file(s), or CSVs")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--writer",
        choices=["write_delta", "sink_delta"],
        # write_delta: Polars' stable Delta writer; sink_delta is marked unstable in 2.1.
        default="write_delta",
        help="DataFrame.write_delta(...) or LazyFrame.sink_delta(...) (both via delta-rs)",
    )
    args = parser.parse_args(argv)
    result, status = run(args.source, args.out, args.writer)
    print(json.dumps({"engine": "polars", "polars": pl.__version__, **result}))
    return status


if __name__ == "__main__":
    sys.exit(main())
