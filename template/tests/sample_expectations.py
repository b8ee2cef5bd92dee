"""What the bundled sample in data/sample/ must produce (see data/sample/README.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SampleExpectations:
    """Exact counts and violations per reason code for the sample."""

    counts: dict[str, int]
    violations: dict[str, int]


EXPECTED = SampleExpectations(
    counts={"read": 8, "written": 1, "quarantined": 5, "filtered": 2},
    violations={"AMOUNT_NEGATIVE": 1},
)
