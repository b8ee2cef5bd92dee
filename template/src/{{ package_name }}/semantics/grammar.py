"""The value grammar: exactly which text becomes a value of each `ColumnType`.

docs/value-grammar.md is the written form; this module is its only implementation, as
narwhals expressions that every engine runs natively (Polars and PySpark expressions,
vectorised pandas on each pandas or Dask partition). Each function takes the text of a
field and returns the value, or null where the text is not a value of the type; the
caller flags "text present, value null" as a type mismatch. Text is matched by patterns
before any conversion, so no engine's own parser decides what is valid (their casts
accept different spellings), and only text already known to be valid is converted.

Dates and timestamps come out as integers (days, and microseconds, since 1970-01-01 UTC),
computed here with integer arithmetic; each engine turns those integers into its date and
timestamp types (`conform.TemporalEncoding`), because no conversion from text to time is
the same in every engine. They are computed in steps (`Parsing`): each step's columns are
evaluated once and referred to by name in the next, so no engine evaluates the same
piece of text twice (eager engines never share common subexpressions).
"""

from __future__ import annotations

from dataclasses import dataclass

import narwhals as nw

from ..pipeline.contract import Column, ColumnType

# Surrounding whitespace that is not part of a typed value: ASCII only. A no-break space
# or other Unicode space left in a number is a mismatch, never silently ignored.
WHITESPACE = " \t\n\r\f\v"

# Patterns use only what every engine's regex library reads the same way (Rust's regex for
# Polars, RE2 through Arrow for pandas and Dask, java.util.regex for Spark): classes of
# ASCII characters (`\d` would match other scripts' digits in some of them), anchors on
# text already stripped of whitespace, no flags.
DECIMAL = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
NON_FINITE = r"^[+-]?(?:[nN][aA][nN]|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)$"
NOT_A_NUMBER = r"^[+-]?[nN][aA][nN]$"
INTEGER = r"^[+-]?[0-9]+$"
DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
TIMESTAMP = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?"
    r"(?:[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)$"
)
TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")
# int64's bounds as digit strings: compared as text, so no engine overflows on the way.
INT64_MAX_DIGITS = "9223372036854775807"
INT64_MIN_DIGITS = "9223372036854775808"  # the magnitude of the smallest int64

SECONDS_PER_DAY = 86_400
MICROS_PER_SECOND = 1_000_000
DAYS_FROM_YEAR_0_TO_1970 = 719_468  # 0000-03-01 to 1970-01-01 in the proleptic calendar


@dataclass(frozen=True)
class Parsing:
    """How one text column becomes values: helper columns added step after step (a step
    may use the columns of the steps before it), then the value, then the helpers go."""

    steps: tuple[dict[str, nw.Expr], ...]
    value: nw.Expr

    @property
    def helpers(self) -> list[str]:
        """The helper columns the steps add."""
        return [name for step in self.steps for name in step]


def parsing(source: str, column: Column) -> Parsing:
    """How the text in column `source` becomes a value of `column`'s type (dates as days,
    timestamps as microseconds since the epoch), null where it is not one."""
    text = nw.col(source)
    if column.type is ColumnType.STRING:
        return Parsing((), text)  # text is kept exactly: whitespace and case are data
    helper = _Helpers(source)
    stripped = {helper.name("text"): text.str.strip_chars(WHITESPACE)}
    clean = helper.col("text")
    if column.type is ColumnType.FLOAT:
        return Parsing((stripped,), parse_float(clean, column.allow_non_finite))
    if column.type is ColumnType.INTEGER:
        return Parsing((stripped,), parse_integer(clean))
    if column.type is ColumnType.BOOLEAN:
        return Parsing((stripped,), parse_boolean(clean))
    if column.type is ColumnType.DATE:
        shaped = {helper.name("shaped"): only_where(clean.str.contains(DATE), clean)}
        date_steps = _date_steps(helper, helper.col("shaped"))
        return Parsing((stripped, shaped, *date_steps), helper.col("days"))
    return _timestamp_parsing(helper, stripped, clean)


class _Helpers:
    """Names of one source column's helper columns (`_parse:<column>:<part>`)."""

    def __init__(self, source: str) -> None:
        self.source = source

    def name(self, part: str) -> str:
        return f"_parse:{self.source}:{part}"

    def col(self, part: str) -> nw.Expr:
        return nw.col(self.name(part))


def only_where(condition: nw.Expr, value: nw.Expr) -> nw.Expr:
    """`value` where `condition` holds, null elsewhere (and where `condition` is null)."""
    return nw.when(condition.fill_null(False)).then(value)


def parse_float(text: nw.Expr, allow_non_finite: bool) -> nw.Expr:
    """A decimal number (sign, digits, point, exponent), finite unless allowed otherwise.

    Text that overflows a double (`1e400`) is never a value: it did not say infinity.
    """
    number = only_where(text.str.contains(DECIMAL), text).cast(nw.Float64)
    finite = only_where(number.is_finite(), number)
    if not allow_non_finite:
        return finite
    words = text.str.contains(NON_FINITE).fill_null(False)
    # Cast from the text itself: a NaN literal would become null in Arrow-backed pandas.
    # A NaN's sign means nothing, and Spark reads `nan` but not `-nan`.
    spelled = nw.when(text.str.contains(NOT_A_NUMBER).fill_null(False)).then(
        text.str.replace_all(r"^[+-]", "")
    )
    special = only_where(words, nw.coalesce(spelled, text)).cast(nw.Float64)
    return nw.when(words).then(special).otherwise(finite)


def parse_integer(text: nw.Expr) -> nw.Expr:
    """Optional sign and ASCII digits, within int64; `1.0` and `1e3` are not integers."""
    magnitude = text.str.replace_all(r"^[+-]?0*", "")
    digits = magnitude.str.len_chars()
    negative = text.str.starts_with("-")
    limit = nw.when(negative).then(nw.lit(INT64_MIN_DIGITS)).otherwise(nw.lit(INT64_MAX_DIGITS))
    # Digit strings of equal length compare as text in the same order as numbers.
    fits = (digits < len(INT64_MAX_DIGITS)) | (
        (digits == len(INT64_MAX_DIGITS)) & (magnitude <= limit)
    )
    # Arrow's cast (pandas, Dask) refuses a leading `+`, which says nothing: drop it first.
    unsigned = text.str.replace_all(r"^\+", "")
    return only_where(text.str.contains(INTEGER) & fits, unsigned).cast(nw.Int64)


def parse_boolean(text: nw.Expr) -> nw.Expr:
    """true/false, 1/0 or yes/no, in any case."""
    lowered = text.str.to_lowercase()
    known = lowered.is_in((*TRUE_WORDS, *FALSE_WORDS))
    return only_where(known, lowered.is_in(TRUE_WORDS))


def _date_steps(helper: _Helpers, shaped: nw.Expr) -> list[dict[str, nw.Expr]]:
    """`YYYY-MM-DD` text (shape checked, else null) to `days` since 1970-01-01, null when
    the day does not exist (years 0001-9999): Howard Hinnant's days_from_civil, on
    non-negative numbers only, so every engine's integer division agrees."""
    year, month, day = helper.col("year"), helper.col("month"), helper.col("day")
    parts = {
        helper.name("year"): _digits(shaped.str.slice(0, 4)),
        helper.name("month"): _digits(shaped.str.slice(5, 2)),
        helper.name("day"): _digits(shaped.str.slice(8, 2)),
    }
    leap = (_remainder(year, 4) == 0) & (
        (_remainder(year, 100) != 0) | (_remainder(year, 400) == 0)
    )
    days_in_month = (
        nw.when(month == 2)
        .then(nw.when(leap).then(nw.lit(29)).otherwise(nw.lit(28)))
        .when(month.is_in([4, 6, 9, 11]))
        .then(nw.lit(30))
        .otherwise(nw.lit(31))
    )
    exists = (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= days_in_month)
    march = helper.col("march_year")
    calendar = {
        helper.name("exists"): exists,
        helper.name("march_year"): year - nw.when(month <= 2).then(nw.lit(1)).otherwise(nw.lit(0)),
        helper.name("day_of_year"): _quotient(
            153 * (month + nw.when(month > 2).then(nw.lit(-3)).otherwise(nw.lit(9))) + 2, 5
        )
        + day
        - 1,
    }
    era = {helper.name("era"): _quotient(march, 400)}
    year_of_era = march - helper.col("era") * 400
    day_of_era = (
        year_of_era * 365
        + _quotient(year_of_era, 4)
        - _quotient(year_of_era, 100)
        + helper.col("day_of_year")
    )
    days = helper.col("era") * 146_097 + day_of_era - DAYS_FROM_YEAR_0_TO_1970
    result = {helper.name("days"): only_where(helper.col("exists"), days.cast(nw.Int64))}
    return [parts, calendar, era, result]


def _timestamp_parsing(helper: _Helpers, stripped: dict[str, nw.Expr], clean: nw.Expr) -> Parsing:
    """ISO-8601 date and time with a zone (`Z` or a numeric offset), as microseconds since
    1970-01-01 UTC; fractions beyond microseconds are cut off, not rounded."""
    shaped = helper.col("shaped")
    rest = helper.col("rest")  # `[:SS[.fraction]]` then the zone
    after = helper.col("after")  # `[.fraction]` then the zone
    zone = helper.col("zone")
    fields = {
        helper.name("hour"): _digits(shaped.str.slice(11, 2)),
        helper.name("minute"): _digits(shaped.str.slice(14, 2)),
        helper.name("rest"): shaped.str.slice(16),
    }
    seconds = {
        helper.name("second"): _digits(
            nw.when(rest.str.starts_with(":")).then(rest.str.slice(1, 2)).otherwise(nw.lit("0"))
        ),
        helper.name("after"): nw.when(rest.str.starts_with(":"))
        .then(rest.str.slice(3))
        .otherwise(rest),
    }
    fraction_text = only_where(after.str.starts_with("."), after)
    zone_and_fraction = {
        helper.name("zone"): after.str.strip_chars_start(".0123456789"),
        helper.name("micros"): nw.coalesce(
            _digits(
                fraction_text.str.replace_all(r"[Zz+-].*$", "").str.slice(1, 6).str.pad_end(6, "0")
            ),
            nw.lit(0),
        ),
    }
    offset = {helper.name("offset"): _offset_minutes(zone)}
    hour, minute, second = helper.col("hour"), helper.col("minute"), helper.col("second")
    valid = (hour <= 23) & (minute <= 59) & (second <= 59) & ~helper.col("offset").is_null()
    total_seconds = (
        helper.col("days") * SECONDS_PER_DAY
        + hour * 3_600
        + minute * 60
        + second
        - helper.col("offset") * 60
    )
    value = only_where(valid, total_seconds * MICROS_PER_SECOND + helper.col("micros"))
    date_parts, *calendar = _date_steps(helper, shaped)
    steps = (
        stripped,
        {helper.name("shaped"): only_where(clean.str.contains(TIMESTAMP), clean)},
        {**fields, **date_parts},
        *calendar,
        seconds,
        zone_and_fraction,
        offset,
    )
    return Parsing(steps, value)


def _digits(text: nw.Expr) -> nw.Expr:
    """ASCII digits already checked by a pattern (or null) as an int64."""
    return text.cast(nw.Int64)


def _offset_minutes(zone: nw.Expr) -> nw.Expr:
    """`Z`, `+HH`, `+HHMM` or `+HH:MM` (shape checked) as minutes east of UTC; null for an
    impossible offset (hours over 23 or minutes over 59). Only digits reach a cast: every
    engine may evaluate every branch on every row."""
    utc = ((zone == "Z") | (zone == "z")).fill_null(False)
    numeric = only_where(~utc, zone)
    length = numeric.str.len_chars()
    hours = _digits(numeric.str.slice(1, 2))
    minutes = _digits(
        nw.when(length == 6)
        .then(numeric.str.slice(4, 2))
        .when(length == 5)
        .then(numeric.str.slice(3, 2))
        .otherwise(nw.lit("0"))
    )
    sign = nw.when(zone.str.starts_with("-")).then(nw.lit(-1)).otherwise(nw.lit(1))
    magnitude = only_where((hours <= 23) & (minutes <= 59), hours * 60 + minutes)
    return nw.when(utc).then(nw.lit(0)).otherwise(sign * magnitude)


def _quotient(value: nw.Expr, divisor: int) -> nw.Expr:
    """Integer division of a non-negative int64 (some engines divide in floating point:
    exact at these magnitudes, and cast back)."""
    return (value // divisor).cast(nw.Int64)


def _remainder(value: nw.Expr, divisor: int) -> nw.Expr:
    """`value % divisor` for non-negative values (Arrow-backed pandas has no modulo)."""
    return value - _quotient(value, divisor) * divisor
