# /// script
# requires-python = ">=3.11"
# dependencies = ["dask[dataframe]>=2026.8.0", "pyarrow>=19", "deltalake>=1.6,<2"]
# ///
"""Hand-written Dask baseline: the orders job a rendered dask pipeline is measured against.

It does exactly the pipeline's work the way a competent engineer would write it with
dask.dataframe on local threads: read the Parquet file(s) lazily, flag every row in one
vectorised `map_partitions` (normalise, derive, test orders, rule checks), persist, find
the order ids repeated among the valid rows with one grouped reduction (the last copy in
source order wins: files in name order, partition number, then row; invalid rows never take
part, they are quarantined; the others are counted as `superseded`, as the pipeline's
`semantics/merge.py` does), then one `dask.compute` of every count, and two writes.

    python benchmarks/baseline_dask.py --source orders.parquet --out OUT_DIR

writes OUT_DIR/dataset/ (a Delta Lake table of the written rows, partitioned by order_date,
zstd) and OUT_DIR/quarantine/quarantine.parquet (quarantined rows with their reason codes),
and prints one JSON line with the counts. An existing table at OUT_DIR/dataset is
overwritten (a new version). Exit status 3 means a `fail` rule fired: nothing was written.

Dask has no Delta writer of its own (dask-deltatable is a separate project), so the written
rows go to `deltalake.write_deltalake` as a stream of Arrow batches, one persisted
partition at a time: one commit, and never more than one partition's copy in memory.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow as pa
from deltalake import WriterProperties, write_deltalake

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
AMOUNT_IMPLAUSIBLE = 1_000_000
EXIT_FAIL_RULE = 3
QUARANTINE_RULES = [
    "ORDER_ID_MISSING",
    "CUSTOMER_ID_MISSING",
    "ORDERED_AT_MISSING",
    "AMOUNT_MISSING",
    "AMOUNT_NEGATIVE",
    "CURRENCY_UNSUPPORTED",
]
FLAGS = [f"_q_{code}" for code in [*QUARANTINE_RULES, "CURRENCY_MISSING"]]
DATE = pd.ArrowDtype(pa.date32())
TIMESTAMP = pd.ArrowDtype(pa.timestamp("us", tz="UTC"))


def flag(part: pd.DataFrame, partition_info: dict[str, Any] | None = None) -> pd.DataFrame:
    """Normalise, derive and flag every row of one partition; nothing is dropped yet."""
    number = partition_info["number"] if partition_info else 0
    out = part.copy()
    out["currency"] = part["currency"].str.strip().str.upper()
    out["country"] = part["country"].str.strip().str.upper()
    out["status"] = part["status"].str.strip().str.lower()
    ordered_at = part["ordered_at"].astype("datetime64[us, UTC]")
    out["ordered_at"] = ordered_at
    # pyarrow casts to dates in one vectorised step (pandas goes through Python objects).
    out["order_date"] = ordered_at.astype(TIMESTAMP).astype(DATE)
    amount = part["amount"]
    rate = out["currency"].astype("category").map(RATES_TO_EUR).astype("float64")
    out["amount_eur"] = (amount * rate).round(2)
    out["_test"] = (out["status"] == "test").fillna(False).astype(bool)
    out["_position"] = number * 2**32 + np.arange(len(part))
    out["_q_ORDER_ID_MISSING"] = part["order_id"].isna()
    out["_q_CUSTOMER_ID_MISSING"] = part["customer_id"].isna()
    out["_q_ORDERED_AT_MISSING"] = ordered_at.isna()
    out["_q_AMOUNT_MISSING"] = amount.isna()
    out["_q_AMOUNT_NEGATIVE"] = (amount < 0).fillna(False)
    # Not-null is its own rule (the pipeline's CURRENCY_MISSING); a null passes this one.
    out["_q_CURRENCY_MISSING"] = out["currency"].isna()
    out["_q_CURRENCY_UNSUPPORTED"] = (
        ~out["currency"].isin(list(RATES_TO_EUR)) & out["currency"].notna()
    )
    out["_w_COUNTRY_MISSING"] = out["country"].isna()
    out["_f_AMOUNT_IMPLAUSIBLE"] = (amount > AMOUNT_IMPLAUSIBLE).fillna(False)
    return out


def with_verdicts(part: pd.DataFrame) -> pd.DataFrame:
    """Kept (not a test order) and quarantined (any quarantine rule fired) per row."""
    return part.assign(_kept=~part["_test"], _quarantined=part[FLAGS].any(axis=1))


def mark_superseded(part: pd.DataFrame, last: pd.Series) -> pd.DataFrame:
    """A valid row is superseded when a valid row of its id comes at a later position."""
    valid = part["_kept"] & ~part["_quarantined"]
    last_position = part["order_id"].where(valid).map(last)
    replaced = last_position.notna() & (last_position != part["_position"])
    return part.assign(_superseded=replaced.astype(bool))


def with_reasons(part: pd.DataFrame) -> pd.DataFrame:
    """The quarantined rows of a partition with their reason codes, in rule order."""
    rows = part[part["_kept"] & part["_quarantined"]]
    reasons = [
        "ORDER_ID_MISSING",
        "CUSTOMER_ID_MISSING",
        "ORDERED_AT_MISSING",
        "AMOUNT_MISSING",
        "AMOUNT_NEGATIVE",
        "CURRENCY_MISSING",
        "CURRENCY_UNSUPPORTED",
    ]
    hits = rows[[f"_q_{code}" for code in reasons]].to_numpy(bool)
    offsets = np.concatenate([[0], np.cumsum(hits.sum(axis=1))]).astype("int32")
    _, which = np.nonzero(hits)
    codes = np.array(reasons, dtype=object)[which]
    array = pa.ListArray.from_arrays(pa.array(offsets), pa.array(codes, pa.string()))
    out = rows[OUTPUT_COLUMNS].copy()
    out["reasons"] = pd.Series(pd.arrays.ArrowExtensionArray(array), index=rows.index)
    return out


def write_dataset(written: dd.DataFrame, path: Path) -> None:
    """A Delta Lake table partitioned by order_date, zstd, written in one commit from a
    stream of Arrow batches, one partition of the persisted frame at a time."""
    # `_meta` is the frame's empty prototype: the Arrow schema every partition is cast to.
    schema = pa.Schema.from_pandas(written._meta, preserve_index=False)

    def batches() -> Iterator[pa.RecordBatch]:
        for part in written.to_delayed():
            frame = pa.Table.from_pandas(part.compute(), schema=schema, preserve_index=False)
            yield from frame.to_batches()

    write_deltalake(
        path,
        pa.RecordBatchReader.from_batches(schema, batches()),
        partition_by=["order_date"],
        mode="overwrite",
        writer_properties=WriterProperties(compression="ZSTD"),
    )


def run(sources: list[str], out: Path) -> tuple[dict[str, Any], int]:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    # dask reads a single file as one partition by default: one thread of two. Split it by
    # row groups into ~64 MiB partitions, as anyone tuning this job would. Files in name
    # order: partition numbers then rank rows by (source file, record).
    raw = dd.read_parquet(
        sorted(sources), columns=SOURCE_COLUMNS, split_row_groups="adaptive", blocksize="64MiB"
    )
    flagged = raw.map_partitions(flag).map_partitions(with_verdicts).persist()
    valid = flagged[flagged["_kept"] & ~flagged["_quarantined"]]
    stats = valid.groupby("order_id", sort=False)["_position"].agg(["max", "size"], split_out=1)
    (last,) = dask.compute(stats[stats["size"] > 1]["max"])
    marked = flagged.map_partitions(mark_superseded, last).persist()
    timings["flag_s"] = time.perf_counter() - started

    mark = time.perf_counter()
    kept = marked[marked["_kept"]]
    sums = kept[[c for c in kept.columns if c.startswith(("_q_", "_w_", "_f_"))]].sum()
    read, tests, quarantined, superseded, totals = dask.compute(
        marked.map_partitions(len).sum(),
        marked["_test"].sum(),
        kept["_quarantined"].sum(),
        marked["_superseded"].sum(),
        sums,
    )
    counts: dict[str, Any] = {
        "read": int(read),
        "filtered": int(tests),
        "quarantined": int(quarantined),
        "superseded": int(superseded),
        "written": int(read - tests - quarantined - superseded),
        "reasons": {
            code: int(totals[f"_q_{code}"])
            for code in sorted([*QUARANTINE_RULES, "CURRENCY_MISSING"])
            if totals[f"_q_{code}"]
        },
        "warnings": {"COUNTRY_MISSING": int(totals["_w_COUNTRY_MISSING"])},
        "failures": {
            code: int(totals[f"_f_{code}"])
            for code in ["AMOUNT_IMPLAUSIBLE"]
            if totals[f"_f_{code}"]
        },
    }
    timings["count_s"] = time.perf_counter() - mark
    if counts["failures"]:  # a `fail` rule fired: stop before writing anything
        return counts | {"status": "failed", "timings": timings}, EXIT_FAIL_RULE

    mark = time.perf_counter()
    quarantine = marked.map_partitions(with_reasons).compute()
    (out / "quarantine").mkdir(parents=True, exist_ok=True)
    quarantine.to_parquet(
        out / "quarantine" / "quarantine.parquet", index=False, compression="zstd"
    )
    timings["write_quarantine_s"] = time.perf_counter() - mark

    mark = time.perf_counter()
    written = marked[marked["_kept"] & ~marked["_quarantined"] & ~marked["_superseded"]]
    write_dataset(written[OUTPUT_COLUMNS], out / "dataset")
    timings["write_dataset_s"] = time.perf_counter() - mark
    timings["total_s"] = time.perf_counter() - started
    return counts | {"status": "ok", "timings": {k: round(v, 3) for k, v in timings.items()}}, 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--source", nargs="+", required=True, help="Parquet file(s)")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    args = parser.parse_args(argv)
    dask.config.set(scheduler="threads")
    result, status = run(args.source, args.out)
    print(json.dumps({"engine": "dask", "dask": dask.__version__, **result}))
    return status


if __name__ == "__main__":
    sys.exit(main())
