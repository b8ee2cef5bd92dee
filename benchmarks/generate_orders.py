# /// script
# requires-python = ">=3.11"
# dependencies = ["numpy>=1.26", "polars>=1.30"]
# ///
"""Generate a deterministic orders dataset for the benchmark and the template's bundled sample.

Every random draw comes from one seeded numpy Generator and is vectorised (numpy arrays,
polars expressions), so 10 million rows take seconds and the same arguments always give the
same rows. Run it with `uv run benchmarks/generate_orders.py ...` (the inline script metadata
above brings numpy and polars).

A small fraction of the rows (`--bad-fraction`) carries exactly one defect each, one of the
kinds in `DEFECTS`, so every rule of the pipeline has work to do. CSV output additionally gets
the text-level defects a real export has (unparseable amounts and timestamps).

`--sample DIR` writes the three small CSV files bundled with generated projects and prints
the counts the pipeline must report for them, computed independently of polars with the
standard library's csv module (`expected_counts`).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl

CURRENCIES = ["EUR", "USD", "GBP", "SEK", "CHF"]
CURRENCY_WEIGHTS = [0.55, 0.20, 0.12, 0.08, 0.05]
# Countries follow the currency, as they do in a real shop: EUR spreads over the euro area.
EURO_COUNTRIES = ["DE", "FR", "NL", "ES", "IT", "AT", "BE", "IE", "FI", "PT"]
HOME_COUNTRY = {"USD": "US", "GBP": "GB", "SEK": "SE", "CHF": "CH"}
STATUSES = ["placed", "paid", "shipped", "delivered", "cancelled", "returned"]
STATUS_WEIGHTS = [0.08, 0.12, 0.20, 0.50, 0.06, 0.04]
# A re-sent order (duplicate order_id) carries a later lifecycle status than the first copy,
# so "keep the later copy", "keep the first" and "keep any" give visibly different outputs.
NEXT_STATUS = {
    "placed": "paid",
    "paid": "shipped",
    "shipped": "delivered",
    "delivered": "returned",
    "cancelled": "cancelled",
    "returned": "returned",
}
COUPONS = ["WELCOME10", "SPRING15", "FREESHIP", "VIP20", "BLACKFRIDAY"]
COUPON_SHARE = 0.15
UNSUPPORTED_CURRENCIES = ["JPY", "NOK", "XXX", "BTC"]
TEST_STATUSES = ["test", "TEST", " Test "]
ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

COLUMNS = [
    "order_id",
    "customer_id",
    "ordered_at",
    "amount",
    "currency",
    "country",
    "status",
    "coupon_code",
]


@dataclass(frozen=True)
class Defect:
    """One kind of bad row: its relative weight among bad rows and what it exercises."""

    name: str
    weight: float
    text_only: bool
    effect: str


# Each bad row carries exactly one of these, which keeps every count derivable.
# `effect` is what the pipeline does with the row (reason codes as in the rules).
DEFECTS = [
    Defect("order_id_missing", 1.0, False, "quarantine ORDER_ID_MISSING"),
    Defect("customer_id_missing", 1.0, False, "quarantine CUSTOMER_ID_MISSING"),
    Defect("ordered_at_missing", 1.0, False, "quarantine ORDERED_AT_MISSING"),
    Defect("amount_missing", 1.0, False, "quarantine AMOUNT_MISSING"),
    Defect("amount_negative", 1.0, False, "quarantine AMOUNT_NEGATIVE"),
    Defect("currency_unsupported", 1.0, False, "quarantine CURRENCY_UNSUPPORTED"),
    Defect("currency_missing", 0.5, False, "quarantine CURRENCY_UNSUPPORTED (null currency)"),
    Defect(
        "customer_missing_and_negative",
        0.5,
        False,
        "quarantine CUSTOMER_ID_MISSING + AMOUNT_NEGATIVE",
    ),
    Defect("duplicate", 1.5, False, "superseded: a later copy of an earlier order_id wins"),
    Defect("test_order", 1.0, False, "filtered: status test (any case, padded)"),
    Defect("country_missing", 1.5, False, "written, warning COUNTRY_MISSING"),
    Defect("status_missing", 0.5, False, "written: a null status is not a test order"),
    Defect("unnormalised_text", 1.0, False, "written: untidy codes that normalise to valid"),
    Defect(
        "amount_unparseable",
        1.0,
        True,
        "quarantine TYPE_MISMATCH:amount + AMOUNT_MISSING",
    ),
    Defect(
        "ordered_at_unparseable",
        1.0,
        True,
        "quarantine TYPE_MISMATCH:ordered_at + ORDERED_AT_MISSING",
    ),
]
CLEAN = "clean"


def defects_for(text: bool) -> list[Defect]:
    """The defect kinds a format can carry: typed Parquet cannot hold unparseable text."""
    return [d for d in DEFECTS if text or not d.text_only]


def _day_start_seconds(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def _pick(rng: np.random.Generator, n: int, weights: list[float]) -> np.ndarray:
    """Vectorised weighted choice of indices into `weights`, via a 4096-slot lookup table.

    Quantising the weights to 1/4096 is plenty here and is ~20x faster than searchsorted.
    """
    slots = np.rint(np.cumsum(weights) / np.sum(weights) * 4096).astype(np.int64)
    table = np.repeat(np.arange(len(weights)), np.diff(slots, prepend=0))
    return table[rng.integers(0, len(table), n)]


def _gather_strings(values: list[str], index: np.ndarray) -> pl.Series:
    return pl.Series(values, dtype=pl.String).gather(pl.Series(index, dtype=pl.UInt32))


def _prefixed_ids(prefix: str, numbers: np.ndarray, width: int) -> pl.Series:
    """prefix + zero-padded number; adding 10**width and dropping the leading 1 is the
    cheapest zero-padding polars offers for 10M values."""
    padded = pl.Series(numbers + 10**width).cast(pl.String).str.slice(1)
    return (prefix + padded).rename("")


def build_orders(
    rng: np.random.Generator,
    seconds: np.ndarray,
    *,
    bad_fraction: float,
    text: bool,
) -> pl.DataFrame:
    """Orders in source order for the given (already ordered) epoch seconds.

    Clean columns are built whole; each defect kind then patches only its own rows
    (`Series.scatter` on a few index positions costs microseconds, a 10M-row `when` chain
    half a second per column). Returns typed columns plus `_cents` (amount in cents, exact)
    and `_defect` (the kind name, or "clean"); `to_text` turns the frame into CSV text and
    applies the text-only defects.
    """
    n = len(seconds)
    kinds = defects_for(text)
    kind_names = [CLEAN, *(d.name for d in kinds)]
    kind = np.zeros(n, dtype=np.int64)
    bad_rows = np.flatnonzero(rng.random(n) < bad_fraction)
    kind[bad_rows] = 1 + _pick(rng, len(bad_rows), [d.weight for d in kinds])

    order_number = np.arange(1, n + 1, dtype=np.int64)
    customer_pool = min(max(50, n // 8), 999_999)  # ids stay "C-" + 6 digits
    # Squaring a uniform skews towards low ids: a few customers order often, most rarely.
    customer = (customer_pool * rng.random(n) ** 2).astype(np.int64) + 1
    amount_cents = np.clip(
        np.rint(rng.lognormal(mean=3.7, sigma=0.8, size=n) * 100), 100, 2_500_000
    ).astype(np.int64)
    currency = _pick(rng, n, CURRENCY_WEIGHTS)
    euro_country = rng.integers(0, len(EURO_COUNTRIES), n)
    status = _pick(rng, n, STATUS_WEIGHTS)
    coupon = np.where(rng.random(n) < COUPON_SHARE, rng.integers(0, len(COUPONS), n), -1)

    # Duplicates re-send an earlier clean order: same id and content, a later status.
    duplicate = kind_names.index("duplicate")
    clean_rows = np.flatnonzero(kind == 0)
    dup_rows = np.flatnonzero(kind == duplicate)
    earlier = np.searchsorted(clean_rows, dup_rows)  # clean rows before each duplicate
    kind[dup_rows[earlier == 0]] = 0  # nothing to duplicate yet: stays a clean row
    dup_rows, earlier = dup_rows[earlier > 0], earlier[earlier > 0]
    original = clean_rows[(rng.random(len(dup_rows)) * earlier).astype(np.int64)]
    for column in (order_number, customer, seconds, amount_cents, currency, euro_country, coupon):
        column[dup_rows] = column[original]
    next_status = np.array([STATUSES.index(NEXT_STATUS[s]) for s in STATUSES])
    status[dup_rows] = next_status[status[original]]

    # Countries index EURO_COUNTRIES followed by the home countries of the other currencies.
    countries = EURO_COUNTRIES + [HOME_COUNTRY[c] for c in CURRENCIES[1:]]
    country = np.where(currency == 0, euro_country, len(EURO_COUNTRIES) - 1 + currency)
    columns = {
        "order_id": _prefixed_ids("O-", order_number, max(8, len(str(n)))),
        "customer_id": _prefixed_ids("C-", customer, 6),
        "ordered_at": pl.Series(seconds * 1_000_000).cast(pl.Datetime("us", "UTC")),
        "_cents": pl.Series(amount_cents),
        "currency": _gather_strings(CURRENCIES, currency),
        "country": _gather_strings(countries, country),
        "status": _gather_strings(STATUSES, status),
        "coupon_code": _gather_strings(COUPONS, np.maximum(coupon, 0)).scatter(
            np.flatnonzero(coupon < 0), None
        ),
    }

    def rows(*names: str) -> np.ndarray:
        codes = [kind_names.index(name) for name in names if name in kind_names]
        return bad_rows[np.isin(kind[bad_rows], codes)]  # bad rows only: 1.5% of a scan

    def patch(column: str, at: np.ndarray, values: pl.Series | None) -> None:
        if len(at):
            columns[column] = columns[column].scatter(at, values)

    def flavour(at: np.ndarray, choices: list[str]) -> pl.Series:
        return _gather_strings(choices, rng.integers(0, len(choices), len(at)))

    patch("order_id", rows("order_id_missing"), None)
    patch("customer_id", rows("customer_id_missing", "customer_missing_and_negative"), None)
    patch("ordered_at", rows("ordered_at_missing"), None)
    patch("_cents", rows("amount_missing"), None)
    negative = rows("amount_negative", "customer_missing_and_negative")
    patch("_cents", negative, -columns["_cents"].gather(negative))
    unsupported = rows("currency_unsupported")
    patch("currency", unsupported, flavour(unsupported, UNSUPPORTED_CURRENCIES))
    patch("currency", rows("currency_missing"), None)
    patch("country", rows("country_missing"), None)
    test = rows("test_order")
    patch("status", test, flavour(test, TEST_STATUSES))
    patch("status", rows("status_missing"), None)
    # Export noise that normalisation must absorb: "eur", " eur", "  gbp"; "de "; "PAID ".
    messy = rows("unnormalised_text")
    pad = flavour(messy, ["", " ", "  "])
    patch("currency", messy, pad + columns["currency"].gather(messy).str.to_lowercase())
    patch("country", messy, columns["country"].gather(messy).str.to_lowercase() + " ")
    patch("status", messy, columns["status"].gather(messy).str.to_uppercase() + pad)

    frame = pl.DataFrame(columns)
    return frame.with_columns(
        amount=pl.col("_cents") / 100,
        _defect=pl.Series(kind_names, dtype=pl.Enum(kind_names)).gather(kind),
    ).select(*COLUMNS, "_cents", "_defect")


def to_typed(frame: pl.DataFrame) -> pl.DataFrame:
    """The Parquet form: typed columns only."""
    return frame.select(COLUMNS).with_columns(pl.col("ordered_at").dt.cast_time_unit("us"))


def to_text(frame: pl.DataFrame) -> pl.DataFrame:
    """The CSV form: every column as export text, with the text-only defects applied.

    Amounts are written from exact cents ("12.50", "-3.05"); which flavour of an
    unparseable value a row gets follows from the row itself, so no random draw is needed.
    """
    defect = pl.col("_defect")
    cents = pl.col("_cents")
    amount_text = pl.concat_str(
        pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (cents.abs() // 100).cast(pl.String),
        pl.lit("."),
        (cents.abs() % 100).cast(pl.String).str.zfill(2),
    )
    ordered_at = pl.col("ordered_at")
    return frame.with_columns(
        amount=pl.when(defect != "amount_unparseable")
        .then(amount_text)
        .when(cents % 2 == 0)
        .then(amount_text.str.replace(".", ",", literal=True))  # decimal comma: "12,50"
        .otherwise(pl.lit("n/a")),
        ordered_at=pl.when(defect != "ordered_at_unparseable")
        .then(ordered_at.dt.strftime(ISO_FORMAT))
        .when(ordered_at.dt.second() % 2 == 0)
        .then(ordered_at.dt.strftime("%d/%m/%Y %H:%M"))  # day-first local format
        .otherwise(pl.lit("0000-00-00T00:00:00Z")),  # a database's zero date
    ).select(COLUMNS)


def generate(
    rows: int, *, days: int, end: dt.date, seed: int, bad_fraction: float, text: bool
) -> pl.DataFrame:
    """`rows` orders over `days` days ending with `end`, in time order (the source order)."""
    rng = np.random.default_rng(seed)
    first = _day_start_seconds(end - dt.timedelta(days=days - 1))
    seconds = np.sort(first + rng.integers(0, days * 86_400, rows))
    return build_orders(rng, seconds, bad_fraction=bad_fraction, text=text)


def write(frame: pl.DataFrame, out: Path, fmt: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        to_typed(frame).write_parquet(out, compression="zstd")
    else:
        to_text(frame).write_csv(out)


# ----------------------------------------------------------------------------
# The bundled sample and its expected counts
# ----------------------------------------------------------------------------
SAMPLE_DAYS = [dt.date(2026, 10, 1), dt.date(2026, 10, 2), dt.date(2026, 10, 3)]
SAMPLE_ROWS_PER_FILE = 1000
SAMPLE_SEED = 20261001
SAMPLE_BAD_FRACTION = 0.12
# A daily export holds mostly that day's orders plus late arrivals from the two days before.
SAMPLE_LATE_SHARE = 0.15


def sample_frame() -> pl.DataFrame:
    """The sample's rows for all files in source order, still carrying `_defect`."""
    rng = np.random.default_rng(SAMPLE_SEED)
    segments = []
    for day in SAMPLE_DAYS:
        late = rng.random(SAMPLE_ROWS_PER_FILE) < SAMPLE_LATE_SHARE
        days_back = np.where(late, rng.integers(1, 3, SAMPLE_ROWS_PER_FILE), 0)
        offset = rng.integers(0, 86_400, SAMPLE_ROWS_PER_FILE)
        segments.append(np.sort(_day_start_seconds(day) - days_back * 86_400 + offset))
    return build_orders(rng, np.concatenate(segments), bad_fraction=SAMPLE_BAD_FRACTION, text=True)


def sample_file_name(day: dt.date) -> str:
    return f"orders-{day.isoformat()}.csv"


def generate_sample(out_dir: Path) -> tuple[list[Path], dict[str, dict[str, int]]]:
    """Write orders-<day>.csv for each sample day (one id sequence across the files).

    Returns the paths and, per file, how many rows of each defect kind were planted.
    """
    frame = sample_frame()
    text = to_text(frame)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths, planted = [], {}
    for i, day in enumerate(SAMPLE_DAYS):
        path = out_dir / sample_file_name(day)
        rows = slice(i * SAMPLE_ROWS_PER_FILE, (i + 1) * SAMPLE_ROWS_PER_FILE)
        text[rows].write_csv(path)
        paths.append(path)
        kinds = frame[rows]["_defect"].value_counts().sort("_defect").iter_rows()
        planted[path.name] = dict(kinds)
    return paths, planted


_DECIMAL = re.compile(r"-?\d+(\.\d+)?")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def _parse_amount(text: str | None) -> tuple[Decimal | None, bool]:
    """(value, mismatch): empty text is a missing value, not a type mismatch."""
    if text is None:
        return None, False
    if not _DECIMAL.fullmatch(text):
        return None, True
    return Decimal(text), False


def _parse_timestamp(text: str | None) -> tuple[dt.datetime | None, bool]:
    if text is None:
        return None, False
    if not _TIMESTAMP.fullmatch(text):
        return None, True
    try:
        return dt.datetime.strptime(text, ISO_FORMAT).replace(tzinfo=dt.UTC), False
    except ValueError:
        return None, True


_FILE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _source_partition(path: Path) -> dt.date | None:
    """The date a sample file's name holds (`orders-{date}.csv`), as the pipeline reads it."""
    found = _FILE_DATE.search(path.name)
    return dt.date.fromisoformat(found.group()) if found else None


def _rank(path: Path, row: int) -> tuple[bool, dt.date, str, int]:
    """Where a row ranks among the copies of its order_id (the template's
    `semantics/merge.py`): the last one wins. Source partition (none first), file name,
    record number."""
    partition = _source_partition(path)
    return (partition is not None, partition or dt.date.min, path.name, row)


def expected_counts(paths: list[Path]) -> dict:
    """The pipeline's counts for these CSV files read in one run, in plain Python.

    Deliberately independent of polars: the csv module, one loop, the steps in contract order
    (cast, normalise, filter test orders, rules), then one row per order_id among the valid
    rows: the copy ranked last (`_rank`) is written, the others are superseded.
    """
    read = 0
    filtered_test = quarantined = 0
    reasons: Counter[str] = Counter()
    warnings: Counter[str] = Counter()
    currency_null = 0  # part of CURRENCY_UNSUPPORTED: a rule set may code them apart
    valid = 0
    kept: dict[str, tuple[tuple[bool, dt.date, str, int], dt.date]] = {}  # id -> rank, date
    for path in paths:
        with path.open(newline="", encoding="utf-8") as handle:
            for row_number, raw in enumerate(csv.DictReader(handle), start=1):
                read += 1
                row = {k: (v if v != "" else None) for k, v in raw.items()}
                row_reasons = []
                amount, bad_amount = _parse_amount(row["amount"])
                ordered_at, bad_timestamp = _parse_timestamp(row["ordered_at"])
                if bad_amount:
                    row_reasons.append("TYPE_MISMATCH:amount")
                if bad_timestamp:
                    row_reasons.append("TYPE_MISMATCH:ordered_at")
                currency = row["currency"].strip().upper() if row["currency"] else None
                country = row["country"].strip().upper() if row["country"] else None
                status = row["status"].strip().lower() if row["status"] else None
                if status == "test":
                    filtered_test += 1
                    continue
                order_id = row["order_id"]
                if amount is not None and amount > 1_000_000:
                    raise SystemExit(f"{path}: AMOUNT_IMPLAUSIBLE would fail the run")
                checks = [
                    (order_id is None, "ORDER_ID_MISSING"),
                    (row["customer_id"] is None, "CUSTOMER_ID_MISSING"),
                    (ordered_at is None, "ORDERED_AT_MISSING"),
                    (amount is None, "AMOUNT_MISSING"),
                    (amount is not None and amount < 0, "AMOUNT_NEGATIVE"),
                    (currency not in CURRENCIES, "CURRENCY_UNSUPPORTED"),
                ]
                row_reasons += [code for failed, code in checks if failed]
                currency_null += currency is None
                if country is None:
                    warnings["COUNTRY_MISSING"] += 1
                if row_reasons:
                    quarantined += 1
                    reasons.update(row_reasons)
                    continue
                assert order_id is not None and ordered_at is not None
                valid += 1
                rank = _rank(path, row_number)
                if order_id not in kept or kept[order_id][0] < rank:
                    kept[order_id] = (rank, ordered_at.date())
    written_by_date = Counter(day.isoformat() for _, day in kept.values())
    counts = {
        "read": read,
        "filtered": filtered_test,
        "superseded": valid - len(kept),
        "quarantined": quarantined,
        "written": len(kept),
        "reasons": dict(sorted(reasons.items())),
        "warnings": dict(sorted(warnings.items())),
        "written_by_order_date": dict(sorted(written_by_date.items())),
        "currency_unsupported_of_which_null": currency_null,
    }
    assert read == len(kept) + counts["superseded"] + quarantined + filtered_test
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--out", type=Path, help="output file (required unless --sample)")
    parser.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2026, 10, 31))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--bad-fraction", type=float, default=0.015)
    parser.add_argument(
        "--sample",
        type=Path,
        metavar="DIR",
        help="write the bundled sample CSVs to DIR and print their expected counts",
    )
    args = parser.parse_args(argv)

    if args.sample is not None:
        paths, planted = generate_sample(args.sample)
        report = {
            "files": [p.name for p in paths],
            "planted_defects": planted,
            "all_files": expected_counts(paths),
            "per_file": {p.name: expected_counts([p]) for p in paths},
        }
        print(json.dumps(report, indent=2))
        return 0
    if args.out is None:
        parser.error("--out is required unless --sample is given")
    if not 0 <= args.bad_fraction < 1:
        parser.error("--bad-fraction must be in [0, 1)")

    started = time.perf_counter()
    frame = generate(
        args.rows,
        days=args.days,
        end=args.end,
        seed=args.seed,
        bad_fraction=args.bad_fraction,
        text=args.format == "csv",
    )
    generated = time.perf_counter()
    write(frame, args.out, args.format)
    done = time.perf_counter()
    summary = {
        "rows": args.rows,
        "out": str(args.out),
        "format": args.format,
        "generate_s": round(generated - started, 2),
        "write_s": round(done - generated, 2),
        "defects": dict(frame["_defect"].value_counts().sort("_defect").iter_rows()),
    }
    print(json.dumps(summary), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
