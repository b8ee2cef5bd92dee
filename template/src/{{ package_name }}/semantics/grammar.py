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
timestamp types (`conform.TEMPORAL_ENCODING`), because no conversion from text to time is
the same in every engine.
"""

from __future__ import annotations

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


def parse(text: nw.Expr, column: Column) -> nw.Expr:
    """The value `text` holds for `column`'s type (dates as days, timestamps as
    microseconds since the epoch), or null where it is not one."""
    if column.type is ColumnType.STRING:
        return text  # text is kept exactly: whitespace and case are data
    stripped = text.str.strip_chars(WHITESPACE)
    if column.type is ColumnType.FLOAT:
        return parse_float(stripped, allow_non_finite=column.allow_non_finite)
    if column.type is ColumnType.INTEGER:
        return parse_integer(stripped)
    if column.type is ColumnType.BOOLEAN:
        return parse_boolean(stripped)
    if column.type is ColumnType.DATE:
        return parse_date(stripped)
    return parse_timestamp(stripped)


def only_where(condition: nw.Expr, value: nw.Expr) -> nw.Expr:
    """`value` where `condition` holds, null elsewhere (and where `condition` is null)."""
    return nw.when(condition.fill_null(False)).then(value)


def parse_float(text: nw.Expr, *, allow_non_finite: bool) -> nw.Expr:
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
    return only_where(text.str.contains(INTEGER) & fits, text).cast(nw.Int64)


def parse_boolean(text: nw.Expr) -> nw.Expr:
    """true/false, 1/0 or yes/no, in any case."""
    lowered = text.str.to_lowercase()
    known = lowered.is_in((*TRUE_WORDS, *FALSE_WORDS))
    return only_where(known, lowered.is_in(TRUE_WORDS))


def parse_date(text: nw.Expr) -> nw.Expr:
    """`YYYY-MM-DD`, a real calendar day of the years 0001-9999, as days since 1970-01-01."""
    return _days(only_where(text.str.contains(DATE), text))


def parse_timestamp(text: nw.Expr) -> nw.Expr:
    """ISO-8601 date and time with a zone (`Z` or a numeric offset), as microseconds since
    1970-01-01 UTC; fractions beyond microseconds are cut off, not rounded."""
    shaped = text.str.contains(TIMESTAMP).fill_null(False)
    text = only_where(shaped, text)
    hour = _number(text.str.slice(11, 2))
    minute = _number(text.str.slice(14, 2))
    rest = text.str.slice(16)  # `[:SS[.fraction]]` then the zone
    has_seconds = rest.str.starts_with(":")
    second = nw.when(has_seconds).then(_number(rest.str.slice(1, 2))).otherwise(nw.lit(0))
    after_seconds = nw.when(has_seconds).then(rest.str.slice(3)).otherwise(rest)
    fraction = after_seconds.str.replace_all(r"[Zz+-].*$", "").str.replace_all(r"^\.", "")
    micros = _number(fraction.str.pad_end(6, "0").str.slice(0, 6))
    zone = after_seconds.str.replace_all(r"^\.[0-9]+", "")
    offset_minutes = _offset_minutes(zone)
    valid = shaped & (hour <= 23) & (minute <= 59) & (second <= 59) & ~offset_minutes.is_null()
    seconds = (
        _days(text.str.slice(0, 10)) * SECONDS_PER_DAY
        + hour * 3_600
        + minute * 60
        + second
        - offset_minutes * 60
    )
    return only_where(valid.fill_null(False), seconds * MICROS_PER_SECOND + micros)


def _number(digits: nw.Expr) -> nw.Expr:
    """A few ASCII digits as an int64, null for anything else. Engines evaluate every
    branch on every row, so only digits may ever reach the cast."""
    return only_where(digits.str.contains(r"^[0-9]{1,9}$"), digits).cast(nw.Int64)


def _offset_minutes(zone: nw.Expr) -> nw.Expr:
    """`Z`, `+HH`, `+HHMM` or `+HH:MM` as minutes east of UTC; null for an impossible
    offset (hours over 23 or minutes over 59)."""
    length = zone.str.len_chars()
    hours = _number(zone.str.slice(1, 2))
    minutes = (
        nw.when(length == 6)
        .then(_number(zone.str.slice(4, 2)))
        .when(length == 5)
        .then(_number(zone.str.slice(3, 2)))
        .otherwise(nw.lit(0))
    )
    sign = nw.when(zone.str.starts_with("-")).then(nw.lit(-1)).otherwise(nw.lit(1))
    utc = zone.str.to_uppercase() == "Z"
    magnitude = only_where((hours <= 23) & (minutes <= 59), hours * 60 + minutes)
    return nw.when(utc.fill_null(False)).then(nw.lit(0)).otherwise(sign * magnitude)


def _days(date_text: nw.Expr) -> nw.Expr:
    """`YYYY-MM-DD` (shape already checked) as days since 1970-01-01, null when the day
    does not exist; Howard Hinnant's days_from_civil, on non-negative numbers only, so
    every engine's integer division agrees."""
    year = _number(date_text.str.slice(0, 4))
    month = _number(date_text.str.slice(5, 2))
    day = _number(date_text.str.slice(8, 2))
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
    march_year = year - nw.when(month <= 2).then(nw.lit(1)).otherwise(nw.lit(0))
    era = _quotient(march_year, 400)
    year_of_era = march_year - era * 400
    shifted_month = month + nw.when(month > 2).then(nw.lit(-3)).otherwise(nw.lit(9))
    day_of_year = _quotient(153 * shifted_month + 2, 5) + day - 1
    day_of_era = (
        year_of_era * 365 + _quotient(year_of_era, 4) - _quotient(year_of_era, 100) + day_of_year
    )
    days = era * 146_097 + day_of_era - DAYS_FROM_YEAR_0_TO_1970
    return only_where(exists, days.cast(nw.Int64))


def _quotient(value: nw.Expr, divisor: int) -> nw.Expr:
    """Integer division of a non-negative int64 (some engines divide in floating point:
    exact at these magnitudes, and cast back)."""
    return (value // divisor).cast(nw.Int64)


def _remainder(value: nw.Expr, divisor: int) -> nw.Expr:
    """`value % divisor` for non-negative values (Arrow-backed pandas has no modulo)."""
    return value - _quotient(value, divisor) * divisor
