"""What the bundled sample in data/sample/ must produce.

Derived independently of this pipeline (a plain-Python re-implementation with the csv
module); data/sample/README.md explains every number.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SampleExpectations:
    """Exact counts, violations per reason code and rows per partition for the sample."""

    counts: dict[str, int]
    violations: dict[str, int]
    written_per_date: dict[str, int]


EXPECTED = SampleExpectations(
    counts={"read": 3000, "written": 2713, "superseded": 34, "quarantined": 229, "filtered": 24},
    violations={
        "ORDER_ID_MISSING": 30,
        "CUSTOMER_ID_MISSING": 32,
        "ORDERED_AT_MISSING": 45,
        "AMOUNT_MISSING": 51,
        "AMOUNT_NEGATIVE": 30,
        "CURRENCY_MISSING": 18,
        "CURRENCY_UNSUPPORTED": 31,
        "TYPE_MISMATCH:amount": 30,
        "TYPE_MISMATCH:ordered_at": 21,
        "COUNTRY_MISSING": 34,
    },
    written_per_date={
        "2026-09-29": 68,
        "2026-09-30": 128,
        "2026-10-01": 896,
        "2026-10-02": 839,
        "2026-10-03": 782,
    },
)
