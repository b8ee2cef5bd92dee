"""Building blocks of data-quality rules: checks, severities and stable reason codes.

Checks are declarative so every engine compiles them to its own native expressions
(one vectorised pass, never a Python loop over rows).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

REASON_CODE = re.compile(r"^[A-Z][A-Z0-9_]*(:[a-z_][a-z0-9_]*)?$")


class Severity(StrEnum):
    """What happens to a row that breaks a rule."""

    WARN = "warn"  # written anyway; counted in the manifest and metrics
    QUARANTINE = "quarantine"  # kept out of the output, written to quarantine with the reason
    FAIL = "fail"  # the whole run stops before any write


@dataclass(frozen=True)
class NotNull:
    """The column has a value."""

    column: str


@dataclass(frozen=True)
class InRange:
    """The value lies within [min, max] (either bound optional). Nulls pass."""

    column: str
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class AcceptedValues:
    """The value is one of a fixed set. Nulls pass."""

    column: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class MatchesPattern:
    """The text matches a regular expression (engine regex dialect: RE2-like). Nulls pass."""

    column: str
    pattern: str


Check = NotNull | InRange | AcceptedValues | MatchesPattern


@dataclass(frozen=True)
class Rule:
    """A named check with a severity and a stable reason code."""

    code: str
    severity: Severity
    check: Check
    description: str = ""

    def __post_init__(self) -> None:
        if not REASON_CODE.match(self.code):
            raise ValueError(
                f"rule code {self.code!r} must be UPPER_SNAKE_CASE, e.g. 'AMOUNT_NEGATIVE'"
            )


def type_mismatch_code(column: str) -> str:
    """Reason code for a value that could not be read as its declared type."""
    return f"TYPE_MISMATCH:{column}"


def check_rule_set(rules: Sequence[Rule], columns: Sequence[str]) -> None:
    """Refuse duplicate codes and rules on unknown columns, naming the rule to fix."""
    seen: set[str] = set()
    for rule in rules:
        if rule.code in seen:
            raise ValueError(f"rule code {rule.code!r} is used twice: codes must be unique")
        seen.add(rule.code)
        if rule.check.column not in columns:
            raise ValueError(
                f"rule {rule.code!r} checks column {rule.check.column!r}, which the "
                f"transformed data does not have (columns: {', '.join(columns)})"
            )
