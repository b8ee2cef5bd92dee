# /// script
# requires-python = ">=3.11"
# dependencies = ["pandas>=2.2", "pyarrow>=21", "numpy>=1.26", "deltalake>=1.6,<2"]
# ///
"""Hand-written pandas baseline: the orders job a rendered pandas pipeline is measured against.

It does exactly the pipeline's work, the way a competent engineer would write it in one
script with modern pandas: pyarrow-backed columns (`dtype_backend="pyarrow"`), numpy boolean
masks for every flag (test orders, rule failures, superseded copies) computed once over the
whole frame, the counts from those masks, then two writes. Rows are flagged rather than
filtered step by step so that the data is copied once, when the written and quarantined
rows are cut.

One row per order_id, by the pipeline's rule (`semantics/merge.py`): among the VALID rows
only, the copy last in source order (source file, in name order, then record) wins; the
others are counted as `superseded`. Test orders are `filtered`; invalid rows are
`quarantined` whatever their key. (The benchmark's source names no date, so there is no
source partition to rank by.)

    python benchmarks/baseline_pandas.py --source orders.parquet --out OUT_DIR

writes OUT_DIR/dataset/ (a Delta Lake table of the written rows, partitioned by order_date,
zstd, by `deltalake.write_deltalake`) and OUT_DIR/quarantine/quarantine.parquet (quarantined
rows with their reason codes), and prints one JSON line with the counts. An existing table
at OUT_DIR/dataset is overwritten (a new version). Exit status 3 means a `fail` rule fired:
nothing was written.

CSV sources (all columns read as text, then cast; unparseable values are flagged
TYPE_MISMATCH:<column>) are accepted too, so the bundled sample's counts can be cross-checked.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from deltalake import WriterProperties, write_deltalake

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
CAST_COLUMNS = ["ordered_at", "amount"]
TEXT = pd.ArrowDtype(pa.string())
FLOAT = pd.ArrowDtype(pa.float64())


def read(sources: list[str]) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Typed columns plus a type-mismatch mask per cast column, in source order (files in
    name order, then records: the order in which later copies of a key win)."""
    sources = sorted(sources)
    if all(source.endswith(".csv") for source in sources):
        raw = pd.concat(
            [
                pd.read_csv(s, engine="pyarrow", dtype=TEXT, keep_default_na=False, na_values=[""])
                for s in sources
            ],
            ignore_index=True,
        )
        ordered_at = pd.to_datetime(
            raw["ordered_at"], format=TIMESTAMP_FORMAT, utc=True, errors="coerce"
        ).astype(pd.ArrowDtype(pa.timestamp("us", tz="UTC")))
        # to_numeric marks unreadable text NaN; from_pandas turns NaN into null.
        numbers = pd.to_numeric(raw["amount"], errors="coerce").to_numpy(np.float64, np.nan)
        amount = pd.Series(pd.array(pa.array(numbers, from_pandas=True), dtype=FLOAT))
        parsed = {"ordered_at": ordered_at, "amount": amount}
        # Text that was there but did not parse is a type mismatch; empty text is missing.
        mismatch = {
            c: (raw[c].notna() & parsed[c].isna()).to_numpy(dtype=bool) for c in CAST_COLUMNS
        }
        return raw.assign(**parsed), mismatch
    frame = pd.concat(
        [pd.read_parquet(s, dtype_backend="pyarrow") for s in sources], ignore_index=True
    )
    # Typed Parquet: the cast is the file's own schema; there is nothing to flag.
    return frame, {c: np.zeros(len(frame), dtype=bool) for c in CAST_COLUMNS}


def flag(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Normalise and derive the columns, and compute every row flag; nothing is dropped."""
    frame = frame.assign(
        currency=frame["currency"].str.strip().str.upper(),
        country=frame["country"].str.strip().str.upper(),
        status=frame["status"].str.strip().str.lower(),
    )
    is_test = (frame["status"] == "test").fillna(False).to_numpy(dtype=bool)
    currency_codes, currencies = pd.factorize(frame["currency"])
    rates = np.append(pd.Series(currencies).map(RATES_TO_EUR).to_numpy(np.float64, np.nan), np.nan)
    amount = frame["amount"].to_numpy(dtype=np.float64, na_value=np.nan)
    # numpy rounds ties to even on the decimal value, as Polars does; Arrow's round differs.
    amount_eur = np.round(amount * rates[currency_codes], 2)
    frame = frame.assign(
        order_date=frame["ordered_at"].dt.date,
        amount_eur=pd.array(pa.array(amount_eur, from_pandas=True), dtype=FLOAT),
    )
    currency = frame["currency"]
    flags = {
        "_test": is_test,
        "_q_ORDER_ID_MISSING": frame["order_id"].isna().to_numpy(dtype=bool),
        "_q_CUSTOMER_ID_MISSING": frame["customer_id"].isna().to_numpy(dtype=bool),
        "_q_ORDERED_AT_MISSING": frame["ordered_at"].isna().to_numpy(dtype=bool),
        "_q_AMOUNT_MISSING": np.isnan(amount),
        "_q_AMOUNT_NEGATIVE": amount < 0,
        # A null currency is not supported either.
        "_q_CURRENCY_UNSUPPORTED": ~currency.isin(CURRENCIES).fillna(False).to_numpy(bool),
        "_w_COUNTRY_MISSING": frame["country"].isna().to_numpy(dtype=bool),
        "_f_AMOUNT_IMPLAUSIBLE": amount > AMOUNT_IMPLAUSIBLE,
    }
    return frame, flags


def superseded(order_id: pd.Series, valid: np.ndarray) -> np.ndarray:
    """Valid rows whose order_id a later valid row repeats: the last copy in source order
    wins. Invalid rows never take part (they are quarantined instead). Integer codes make
    the check cheap."""
    codes, _ = pd.factorize(order_id.where(valid))
    return pd.Series(codes).duplicated(keep="last").to_numpy() & (codes >= 0)


def reason_codes() -> dict[str, str]:
    """Flag -> reason code, in the order codes are listed for a row."""
    codes = {f"_mismatch_{c}": f"TYPE_MISMATCH:{c}" for c in CAST_COLUMNS}
    quarantine = [
        "ORDER_ID_MISSING",
        "CUSTOMER_ID_MISSING",
        "ORDERED_AT_MISSING",
        "AMOUNT_MISSING",
        "AMOUNT_NEGATIVE",
        "CURRENCY_UNSUPPORTED",
    ]
    return codes | {f"_q_{code}": code for code in quarantine}


def count(
    flags: dict[str, np.ndarray], kept: np.ndarray, quarantined: np.ndarray, replaced: np.ndarray
) -> dict:
    read_rows = len(kept)
    counts = {
        "read": read_rows,
        "filtered": int((~kept).sum()),
        "quarantined": int((kept & quarantined).sum()),
        "superseded": int(replaced.sum()),
        "written": int((kept & ~quarantined & ~replaced).sum()),
        "reasons": {},
        "warnings": {},
        "failures": {},
    }
    by_code = {code: int((kept & flags[f]).sum()) for f, code in reason_codes().items()}
    counts["reasons"] = {c: n for c, n in sorted(by_code.items()) if n}
    warn = int((kept & flags["_w_COUNTRY_MISSING"]).sum())
    counts["warnings"] = {"COUNTRY_MISSING": warn} if warn else {}
    fail = int((kept & flags["_f_AMOUNT_IMPLAUSIBLE"]).sum())
    counts["failures"] = {"AMOUNT_IMPLAUSIBLE": fail} if fail else {}
    accounted = ("written", "superseded", "quarantined", "filtered")
    if counts["read"] != sum(counts[key] for key in accounted):
        raise RuntimeError(f"counts do not add up: {counts}")
    return counts


def reason_lists(broken: np.ndarray, codes: list[str]) -> pa.Array:
    """Rows x rules mask -> each row's codes in rule order, as one Arrow list array."""
    rows, which = np.nonzero(broken)
    offsets = np.zeros(broken.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=broken.shape[0]), out=offsets[1:])
    return pa.LargeListArray.from_arrays(
        pa.array(offsets), pa.array(codes, pa.large_string()).take(which)
    )


def write_dataset(valid: pd.DataFrame, path: Path) -> None:
    """A Delta Lake table partitioned by order_date, zstd, written in one commit.

    pandas has no Delta writer of its own: the pyarrow-backed columns go to delta-rs as one
    Arrow table, without a copy."""
    write_deltalake(
        path,
        pa.Table.from_pandas(valid, preserve_index=False),
        partition_by=["order_date"],
        mode="overwrite",
        writer_properties=WriterProperties(compression="ZSTD"),
    )


def run(sources: list[str], out: Path) -> tuple[dict, int]:
    timings = {}
    started = time.perf_counter()
    frame, mismatch = read(sources)
    timings["read_s"] = time.perf_counter() - started

    mark = time.perf_counter()
    frame, flags = flag(frame)
    flags |= {f"_mismatch_{c}": mismatch[c] for c in CAST_COLUMNS}
    kept = ~flags["_test"]
    reasons = reason_codes()
    quarantined = np.logical_or.reduce([flags[f] for f in reasons])
    replaced = superseded(frame["order_id"], kept & ~quarantined)
    timings["flag_s"] = time.perf_counter() - mark

    mark = time.perf_counter()
    counts = count(flags, kept, quarantined, replaced)
    timings["count_s"] = time.perf_counter() - mark
    if counts["failures"]:  # a `fail` rule fired: stop before writing anything
        return counts | {"status": "failed", "timings": timings}, EXIT_FAIL_RULE

    mark = time.perf_counter()
    to_quarantine = kept & quarantined
    broken = np.column_stack([flags[f][to_quarantine] for f in reasons])
    quarantine = frame.loc[to_quarantine, OUTPUT_COLUMNS]
    quarantine = quarantine.assign(
        reasons=pd.array(
            reason_lists(broken, list(reasons.values())),
            dtype=pd.ArrowDtype(pa.large_list(pa.large_string())),
        )
    )
    (out / "quarantine").mkdir(parents=True, exist_ok=True)
    quarantine.to_parquet(out / "quarantine" / "quarantine.parquet", compression="zstd")
    timings["write_quarantine_s"] = time.perf_counter() - mark

    mark = time.perf_counter()
    valid = frame.loc[kept & ~quarantined & ~replaced, OUTPUT_COLUMNS]
    write_dataset(valid, out / "dataset")
    timings["write_dataset_s"] = time.perf_counter() - mark
    timings["total_s"] = time.perf_counter() - started
    timings = {k: round(v, 3) for k, v in timings.items()}
    return counts | {"status": "ok", "timings": timings}, 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", nargs="+", required=True, help="Parquet file(s), or CSVs")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    args = parser.parse_args(argv)
    result, status = run(args.source, args.out)
    print(json.dumps({"engine": "pandas", "pandas": pd.__version__, **result}))
    return status


if __name__ == "__main__":
    sys.exit(main())
