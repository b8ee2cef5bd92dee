"""Jinja filters that turn the `schedule` answer into an Amazon EventBridge Scheduler expression.

The questionnaire takes a preset (`@daily`) or a 5-field Unix cron expression. EventBridge
Scheduler wants `cron(minutes hours day-of-month month day-of-week year)`, which differs in
ways that would silently change when runs happen if copied field by field:

- six fields: a year field is added (`*`);
- day-of-month and day-of-week cannot both be given: the unused one must be `?`. Unix cron
  runs when EITHER restricted field matches, which AWS cannot express, so a schedule that
  restricts both is rejected with a message (`aws_schedule_problem`);
- day-of-week counts 1-7 from Sunday (Unix: 0-7, 0 and 7 both Sunday) and takes no `/`
  step: weekdays are written as names (SUN-SAT), steps expanded to lists;
- `*/n` is written `<first>/n`, and a stepped range `a-b/n` is expanded to a list, the forms
  the AWS documentation shows.

Expects an answer that `answers.schedule_problem` accepts (copier.yml validates it first).
Standard library only, like every extension here.
"""

from __future__ import annotations

from collections.abc import Callable

from jinja2 import Environment
from jinja2.ext import Extension

# Presets as Unix cron expressions (crontab(5) and Airflow agree on these).
PRESET_CRON: dict[str, str] = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}

WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


class AwsScheduleError(ValueError):
    """A valid Unix cron expression that EventBridge Scheduler cannot express."""


def _number(token: str, names: tuple[str, ...], first: int) -> int:
    """Parse a number or a name (JAN=1, SUN=0) of one field."""
    upper = token.upper()
    if upper in names:
        return names.index(upper) + first
    return int(token)


def _expand(
    field: str, low: int, high: int, names: tuple[str, ...] = (), first: int = 0
) -> list[int]:
    """Every value a Unix cron field matches, sorted and without duplicates."""
    values: set[int] = set()
    for item in field.split(","):
        base, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            start, end = low, high
        elif "-" in base:
            start_text, _, end_text = base.partition("-")
            start, end = _number(start_text, names, first), _number(end_text, names, first)
        else:
            start = _number(base, names, first)
            end = high if step_text else start
        values.update(range(start, end + 1, step))
    return sorted(values)


def _plain_field(field: str, low: int, high: int, names: tuple[str, ...] = ()) -> str:
    """Minutes, hours, day-of-month or month in AWS syntax (same meaning as Unix cron)."""
    items: list[str] = []
    for item in field.split(","):
        base, _, step = item.partition("/")
        if not step:
            items.append(item.upper())
        elif base == "*":
            items.append(f"{low}/{step}")
        else:
            # AWS documents `/` only after `*` or a single start value: list the values.
            items.extend(str(value) for value in _expand(item, low, high, names, first=1))
    return ",".join(items)


def _weekday_field(field: str) -> str:
    """Day-of-week in AWS syntax: names, consecutive days as ranges, no steps."""
    days = sorted({day % 7 for day in _expand(field, 0, 7, WEEKDAYS)})  # 7 is Sunday too
    runs: list[list[int]] = []
    for day in days:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(
        WEEKDAYS[run[0]] if len(run) == 1 else f"{WEEKDAYS[run[0]]}-{WEEKDAYS[run[-1]]}"
        for run in runs
    )


def aws_schedule(schedule: str) -> str:
    """Return the EventBridge Scheduler expression, e.g. "@daily" -> "cron(0 0 * * ? *)".

    Raises AwsScheduleError for a schedule that restricts both day-of-month and
    day-of-week (see the module docstring).
    """
    text = str(schedule)
    minute, hour, day_of_month, month, day_of_week = PRESET_CRON.get(text, text).split()
    if day_of_month != "*" and day_of_week != "*":
        raise AwsScheduleError(
            f"schedule '{text}' restricts both day-of-month ('{day_of_month}') and "
            f"day-of-week ('{day_of_week}'); Unix cron runs when either matches, which "
            "EventBridge Scheduler cannot express: keep one of them '*' for step_functions"
        )
    if day_of_week == "*":
        days, weekdays = _plain_field(day_of_month, 1, 31), "?"
    else:
        days, weekdays = "?", _weekday_field(day_of_week)
    fields = (
        _plain_field(minute, 0, 59),
        _plain_field(hour, 0, 23),
        days,
        _plain_field(month, 1, 12, MONTHS),
        weekdays,
        "*",
    )
    return f"cron({' '.join(fields)})"


def aws_schedule_problem(schedule: str) -> str:
    """Return "" when `schedule` converts to EventBridge Scheduler syntax, else why not."""
    try:
        aws_schedule(schedule)
    except AwsScheduleError as error:
        return str(error)
    return ""


FILTERS: dict[str, Callable[[str], str]] = {
    "aws_schedule": aws_schedule,
    "aws_schedule_problem": aws_schedule_problem,
}


class AwsScheduleFilters(Extension):
    """Register the EventBridge Scheduler filters with Copier's Jinja environment."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters.update(FILTERS)
