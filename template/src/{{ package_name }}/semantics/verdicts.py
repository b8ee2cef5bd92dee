"""What the rules say about each row, written once: predicates, verdicts and reason codes.

`compile_rules` turns the team's declarative rules (`validation/rules.py`) into boolean
narwhals expressions, true where a row breaks the rule and never null, and adds one
`TYPE_MISMATCH:<column>` verdict for every `_raw:<column>` the conformed rows carry.
An engine evaluates all verdicts once (`verdict_columns`), keeps them with the rows, and
counts, splits and explains from those columns: valid rows break no `quarantine` rule,
quarantined rows carry every quarantine reason in rule order (`reasons`).

Semantics (the same in every engine, tested by the conformance corpus): a null value
breaks only `NotNull`; NaN (where a contract allows it) breaks every `InRange`, and an
infinity breaks the bound it passes; `AcceptedValues` compares text exactly;
`MatchesPattern` searches the text (anchor with ^ and $ to match all of it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import narwhals as nw

from ..errors import DataContractError
from ..validation.model import (
    AcceptedValues,
    Check,
    InRange,
    MatchesPattern,
    NotNull,
    Rule,
    Severity,
    check_rule_set,
    type_mismatch_code,
)
from .columns import RAW_PREFIX, is_bookkeeping, is_raw

VERDICT_PREFIX = "_verdict:"  # `_verdict:<code>`: true where the row breaks that rule
QUARANTINED = "_quarantined"  # true where any `quarantine` verdict is
REASON_SEPARATOR = ","  # never part of a reason code (REASON_CODE in validation/model.py)


@dataclass(frozen=True)
class CompiledRule:
    """A rule as a boolean expression: true where the row breaks it, never null."""

    code: str
    severity: Severity
    violation: nw.Expr

    @property
    def verdict(self) -> str:
        """The column holding this rule's verdict once evaluated."""
        return f"{VERDICT_PREFIX}{self.code}"


def compile_rules(
    rules: Sequence[Rule], schema: Mapping[str, nw.dtypes.DType]
) -> list[CompiledRule]:
    """The team's rules, then a type-mismatch rule per `_raw:<column>` in `schema` (the
    transformed rows' columns); a data-contract error names a rule that cannot apply."""
    data_columns = [name for name in schema if not is_bookkeeping(name)]
    try:
        check_rule_set(rules, data_columns)
        for rule in rules:
            _check_type(rule, schema[rule.check.column])
    except ValueError as error:
        raise DataContractError(f"validation/rules.py: {error}") from None
    compiled = [
        CompiledRule(rule.code, rule.severity, violation(rule.check, schema[rule.check.column]))
        for rule in rules
    ]
    compiled += [
        CompiledRule(
            type_mismatch_code(name.removeprefix(RAW_PREFIX)),
            Severity.QUARANTINE,
            ~nw.col(name).is_null(),
        )
        for name in schema
        if is_raw(name)
    ]
    return compiled


def violation(check: Check, dtype: nw.dtypes.DType) -> nw.Expr:
    """True where a row breaks `check` (a column of type `dtype`); never null."""
    value = nw.col(check.column)
    present = ~value.is_null()
    if isinstance(check, NotNull):
        return value.is_null()
    if isinstance(check, InRange):
        broken = nw.lit(False)
        if dtype.is_float():
            broken = broken | value.is_nan()
        if check.min is not None:
            broken = broken | (value < check.min)
        if check.max is not None:
            broken = broken | (value > check.max)
        return (present & broken).fill_null(False)
    if isinstance(check, AcceptedValues):
        return (present & ~value.is_in(list(check.values))).fill_null(False)
    if isinstance(check, MatchesPattern):
        return (present & ~value.str.contains(check.pattern)).fill_null(False)
    raise TypeError(f"unknown check {check!r}")


def _check_type(rule: Rule, dtype: nw.dtypes.DType) -> None:
    check = rule.check
    if isinstance(check, InRange) and not dtype.is_numeric():
        raise ValueError(
            f"rule {rule.code!r}: InRange needs a number column; {check.column!r} is {dtype}"
        )
    if isinstance(check, AcceptedValues | MatchesPattern) and dtype != nw.String:
        raise ValueError(
            f"rule {rule.code!r}: {type(check).__name__} needs a text column; "
            f"{check.column!r} is {dtype}"
        )


def verdict_columns(compiled: Sequence[CompiledRule]) -> list[nw.Expr]:
    """One boolean column per rule, and `_quarantined`: evaluate these once per run."""
    quarantining = [rule.violation for rule in compiled if rule.severity is Severity.QUARANTINE]
    any_broken = nw.any_horizontal(*quarantining, ignore_nulls=True) if quarantining else None
    return [
        *(rule.violation.alias(rule.verdict) for rule in compiled),
        (any_broken if any_broken is not None else nw.lit(False)).alias(QUARANTINED),
    ]


def quarantined() -> nw.Expr:
    """True for a row some `quarantine` rule rejects (after `verdict_columns`)."""
    return nw.col(QUARANTINED)


def verdict_names(compiled: Sequence[CompiledRule]) -> list[str]:
    """Every column `verdict_columns` adds."""
    return [*(rule.verdict for rule in compiled), QUARANTINED]


def reasons(compiled: Sequence[CompiledRule]) -> nw.Expr:
    """A quarantined row's reason codes, in rule order (after `verdict_columns`)."""
    codes = [
        nw.when(nw.col(rule.verdict)).then(nw.lit(rule.code))
        for rule in compiled
        if rule.severity is Severity.QUARANTINE
    ]
    if not codes:
        return nw.lit(None, nw.List(nw.String))
    joined = nw.concat_str(codes, separator=REASON_SEPARATOR, ignore_nulls=True)
    return joined.str.split(REASON_SEPARATOR)


def failing(compiled: Sequence[CompiledRule]) -> nw.Expr:
    """True for a row some `fail` rule rejects (after `verdict_columns`)."""
    failing_verdicts = [nw.col(r.verdict) for r in compiled if r.severity is Severity.FAIL]
    return (
        nw.any_horizontal(*failing_verdicts, ignore_nulls=True)
        if failing_verdicts
        else nw.lit(False)
    )
