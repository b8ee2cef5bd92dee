"""The alert rules' derived data (extensions/observability.py): the longest gap a schedule
allows, checked against a minute-by-minute walk of the calendar, and the rules' metric names,
which must be the vocabulary's Prometheus names (layer 1: no rendering)."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta

import pytest
from extension_modules import load_extension

observability = load_extension("observability")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


def walked_gap(schedule: str, days: int) -> int:
    """The longest gap between two minutes `schedule` fires at, walking `days` of minutes."""
    minute, hour, day, month, weekday = schedule.split()

    def allows(field: str, value: int, names: tuple[str, ...] = (), first: int = 0) -> bool:
        for item in field.split(","):
            base, _, step = item.partition("/")
            if base == "*":
                low, high = 0, 10_000
            else:
                ends = [names.index(x) + first if x in names else int(x) for x in base.split("-")]
                low, high = ends[0], ends[-1]
            if low <= value <= high and (value - low) % int(step or 1) == 0:
                return True
        return False

    moment, fired = datetime(2025, 1, 1), []
    for _ in range(days * 1440):
        by_day = allows(day, moment.day)
        by_weekday = allows(weekday, moment.isoweekday() % 7, WEEKDAYS) or (
            moment.isoweekday() == 7 and allows(weekday, 7, WEEKDAYS)
        )
        days_match = (by_day or by_weekday) if "*" not in (day, weekday) else by_day and by_weekday
        if (
            allows(minute, moment.minute)
            and allows(hour, moment.hour)
            and allows(month, moment.month)
            and days_match
        ):
            fired.append(moment)
        moment += timedelta(minutes=1)
    return int(max((b - a).total_seconds() for a, b in itertools.pairwise(fired)))


@pytest.mark.parametrize(
    "schedule",
    [
        "0 3 * * *",
        "*/15 * * * *",
        "30 9 * * MON-FRI",
        "0 6,18 * * *",
        "0 0 1,15 * SUN",
        "5 */4 * * 0",
    ],
)
def test_the_longest_gap_of_a_cron_schedule_is_the_one_the_calendar_shows(schedule: str) -> None:
    assert observability.schedule_interval_seconds(schedule) == walked_gap(schedule, days=42)


@pytest.mark.parametrize("schedule", ["0 0 1 FEB-apr *", "0 0 * jan,JUL mon", "*/20 9-17 * * 1-5"])
def test_month_and_weekday_names_in_any_case_are_read_as_cron_reads_them(schedule: str) -> None:
    numbered = schedule
    for names in (observability.MONTH_NAMES, WEEKDAYS):
        first = 1 if names is observability.MONTH_NAMES else 0
        for index, name in enumerate(names):
            for spelling in (name, name.lower()):
                numbered = numbered.replace(spelling, str(index + first))
    assert observability.schedule_interval_seconds(schedule) == (
        observability.schedule_interval_seconds(numbered)
    )


def test_every_schedule_the_validator_accepts_gets_rules() -> None:
    answers = load_extension("answers")
    fields = {
        "minute": ["*", "0", "59", "*/7", "5-10", "1,2,3", "0-59/15"],
        "hour": ["*", "0", "23", "*/5", "1-3", "9-17/2"],
        "day": ["*", "1", "31", "29", "1-7", "*/10"],
        "month": ["*", "1", "12", "FEB", "jan-mar", "*/3"],
        "weekday": ["*", "0", "7", "MON-FRI", "sun", "1-5/2", "SAT,SUN"],
    }
    accepted = 0
    for schedule in (" ".join(parts) for parts in itertools.product(*fields.values())):
        if accepted >= 300 or answers.schedule_problem(schedule):
            continue
        accepted += 1
        rules = observability.rule_groups("orders-pipeline", "batch", schedule)
        assert observability.schedule_interval_seconds(schedule) > 0, schedule
        assert len(rules["groups"][0]["rules"]) == 4, schedule
    assert accepted == 300


@pytest.mark.parametrize(
    ("preset", "hours"),
    [
        ("@hourly", 1),
        ("@daily", 24),
        ("@midnight", 24),
        ("@weekly", 168),
        ("@monthly", 744),
        ("@yearly", 8784),
        ("@annually", 8784),
    ],
)
def test_a_preset_allows_its_longest_period(preset: str, hours: int) -> None:
    assert observability.schedule_interval_seconds(preset) == hours * 3600


def test_every_preset_the_questionnaire_accepts_has_a_longest_period() -> None:
    for preset in load_extension("answers").SCHEDULE_PRESETS:
        assert observability.schedule_interval_seconds(preset) > 0, preset


def test_a_leap_day_schedule_waits_four_years() -> None:
    assert observability.schedule_interval_seconds("0 0 29 2 *") == (4 * 365 + 1) * 86400


@pytest.mark.parametrize(
    ("seconds", "written"), [(0, "0m"), (90, "1m30s"), (3600, "1h"), (95040, "1d2h24m")]
)
def test_durations_are_written_as_prometheus_reads_them(seconds: int, written: str) -> None:
    assert observability.duration(seconds) == written


@pytest.mark.parametrize("pipeline_type", ["batch", "streaming"])
def test_every_metric_a_rule_queries_is_in_the_vocabulary(pipeline_type: str) -> None:
    words = observability.vocabulary()
    emitted = words.emitted(streaming=pipeline_type == "streaming")
    names = {metric.prometheus_name for metric in emitted}
    rules = observability.rule_groups("orders-pipeline", pipeline_type, "@daily")
    for rule in rules["groups"][0]["rules"]:
        queried = set(re.findall(r"\b(pipeline_[a-z_]+)\{", rule["expr"]))
        assert queried and queried <= names, rule["alert"]
        assert 'pipeline_name="orders-pipeline"' in rule["expr"]


def test_a_missed_schedule_waits_for_the_longest_gap_plus_a_grace() -> None:
    alerts = observability.alerts("orders-pipeline", "batch", "0 9 * * MON-FRI")
    (missed,) = [alert for alert in alerts if alert.name == "PipelineScheduleMissed"]
    # Friday 09:00 to Monday 09:00, plus a tenth of it.
    assert missed.expr.endswith(f"> {72 * 3600 + 72 * 360}")
    assert "PipelineScheduleMissed" not in {
        alert.name for alert in observability.alerts("orders-pipeline", "streaming", "@daily")
    }
