"""Unit tests of extensions/aws_schedule.py: the schedule answer in EventBridge Scheduler syntax."""

from __future__ import annotations

import pytest
from extension_modules import load_extension
from jinja2 import Environment

aws_schedule = load_extension("aws_schedule")
answers = load_extension("answers")


@pytest.mark.parametrize(
    ("schedule", "expression"),
    [
        ("@hourly", "cron(0 * * * ? *)"),
        ("@daily", "cron(0 0 * * ? *)"),
        ("@midnight", "cron(0 0 * * ? *)"),
        ("@weekly", "cron(0 0 ? * SUN *)"),
        ("@monthly", "cron(0 0 1 * ? *)"),
        ("@yearly", "cron(0 0 1 1 ? *)"),
        ("@annually", "cron(0 0 1 1 ? *)"),
        ("0 3 * * *", "cron(0 3 * * ? *)"),
        ("*/15 * * * *", "cron(0/15 * * * ? *)"),
        ("30 2 1,15 * *", "cron(30 2 1,15 * ? *)"),
        ("0 3 * * 1-5", "cron(0 3 ? * MON-FRI *)"),
        ("0 3 * * mon,wed,fri", "cron(0 3 ? * MON,WED,FRI *)"),
        ("0 0 * * 7", "cron(0 0 ? * SUN *)"),
        ("0 0 * * 0,6", "cron(0 0 ? * SUN,SAT *)"),
        ("0 0 * * */2", "cron(0 0 ? * SUN,TUE,THU,SAT *)"),
        ("10-50/20 1 * * *", "cron(10,30,50 1 * * ? *)"),
        ("0 6 * jan-mar *", "cron(0 6 * JAN-MAR ? *)"),
        ("0 6 * 1-12/3 *", "cron(0 6 * 1,4,7,10 ? *)"),
    ],
)
def test_a_schedule_converts_to_the_same_times_in_aws_syntax(
    schedule: str, expression: str
) -> None:
    assert answers.schedule_problem(schedule) == ""
    assert aws_schedule.aws_schedule(schedule) == expression
    assert aws_schedule.aws_schedule_problem(schedule) == ""


def test_every_preset_the_questionnaire_accepts_converts() -> None:
    for preset in answers.SCHEDULE_PRESETS:
        assert aws_schedule.aws_schedule(preset).startswith("cron(")


def test_restricting_both_day_fields_is_rejected_with_the_reason() -> None:
    schedule = "0 0 1 * 1"
    assert answers.schedule_problem(schedule) == ""  # valid Unix cron: the 1st OR Mondays

    problem = aws_schedule.aws_schedule_problem(schedule)

    assert "day-of-month" in problem and "day-of-week" in problem
    assert "step_functions" in problem
    with pytest.raises(aws_schedule.AwsScheduleError, match="cannot express"):
        aws_schedule.aws_schedule(schedule)


def test_the_filters_are_registered_with_jinja() -> None:
    environment = Environment(extensions=[aws_schedule.AwsScheduleFilters])

    rendered = environment.from_string("{{ '@daily' | aws_schedule }}").render()

    assert rendered == "cron(0 0 * * ? *)"
