"""Alert rules, their promtool unit tests and their runbook, derived from the answers.

Rendered into every project's observability/ and docs/ (Jinja globals `alert_rules_yaml`,
`alert_tests_yaml`, `alerts`). The metric names come from the project's own metric
vocabulary (template/src/{{ package_name }}/vocabulary.py, read here by path), so rules and
code cannot drift; the missed-schedule window comes from the `schedule` answer: the longest
gap between two runs it allows, plus a grace.

Batch processes are short-lived and push their metrics once, at exit, so batch rules read
the run-outcome gauges over a window (`last_over_time`, `max_over_time`) rather than rates;
a stream consumer is long-lived, so its rules use rates over minutes.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml
from jinja2 import Environment
from jinja2.ext import Extension

VOCABULARY = (
    Path(__file__).parent.parent / "template" / "src" / "{{ package_name }}" / "vocabulary.py"
)
PRESET_SECONDS = {
    "@hourly": 3600,
    "@daily": 86400,
    "@weekly": 7 * 86400,
    "@monthly": 31 * 86400,
    "@yearly": 366 * 86400,
    "@annually": 366 * 86400,  # cron's other name for @yearly
    "@midnight": 86400,  # and for @daily
}
MINUTES_PER_DAY = 1440
# Names cron accepts in the month and day-of-week fields, in any case (the validator's).
MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# Every cron pattern repeats within 28 years (the Gregorian weekday cycle); 8 years already
# hold two leap days, which is what a `29 2` day-of-month pattern needs.
CRON_HORIZON_DAYS = 8 * 366
# A run may start late or take a while: the missed-schedule alert waits this much longer
# than the schedule's longest gap (a tenth of the gap, at least 15 minutes).
MIN_GRACE_SECONDS = 900
# Stream consumers are long-lived: their rules look at the last minutes.
STREAM_WINDOW = "15m"
QUARANTINE_ALERT_RATIO = 0.05
LAG_ALERT_RECORDS = 100_000
RUNBOOK = "docs/alerts.md"


@cache
def vocabulary() -> ModuleType:
    """The template's metric vocabulary module, loaded by path (it imports no OTel)."""
    spec = spec_from_file_location("_golden_path_vocabulary", VOCABULARY)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {VOCABULARY}")
    module = module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


def _cron_values(text: str, low: int, high: int, names: tuple[str, ...] = ()) -> set[int]:
    """The values one cron field allows (`*`, lists, ranges, steps, names)."""
    symbols = {name: index + low for index, name in enumerate(names)}
    values: set[int] = set()
    for item in text.split(","):
        base, _, step = item.partition("/")
        if base == "*":
            start, end = low, high
        else:
            first, _, last = base.partition("-")
            start = _cron_number(first, symbols)
            end = _cron_number(last, symbols) if last else start
        values.update(range(start, end + 1, int(step) if step else 1))
    return values


def _cron_number(token: str, symbols: dict[str, int]) -> int:
    return symbols[token.upper()] if token.upper() in symbols else int(token)


def schedule_interval_seconds(schedule: str) -> int:
    """The longest gap between two runs `schedule` (a preset or 5 cron fields) allows."""
    if schedule in PRESET_SECONDS:
        return PRESET_SECONDS[schedule]
    minute, hour, day, month, weekday = schedule.split()
    minutes = _cron_values(minute, 0, 59)
    hours = _cron_values(hour, 0, 23)
    times = sorted(h * 60 + m for h in hours for m in minutes)
    days_of_month = _cron_values(day, 1, 31)
    months = _cron_values(month, 1, 12, MONTH_NAMES)
    weekdays = {value % 7 for value in _cron_values(weekday, 0, 7, WEEKDAY_NAMES)}
    # cron: when both day fields are restricted, a day matching either runs.
    either = day != "*" and weekday != "*"
    start = date(2024, 1, 1)
    firing: list[int] = []
    for offset in range(CRON_HORIZON_DAYS):
        today = start + timedelta(days=offset)
        by_day = today.day in days_of_month
        by_weekday = (today.isoweekday() % 7) in weekdays
        matches = (by_day or by_weekday) if either else (by_day and by_weekday)
        if today.month in months and matches:
            firing.append(offset)
    within_a_day = max((b - a for a, b in itertools.pairwise(times)), default=0)
    across_days = max(
        ((b - a) * MINUTES_PER_DAY - times[-1] + times[0] for a, b in itertools.pairwise(firing)),
        default=MINUTES_PER_DAY,
    )
    return max(within_a_day, across_days) * 60


def duration(seconds: int) -> str:
    """A Prometheus duration such as `2d2h24m` (no zero parts; `0m` for nothing)."""
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0m"


@dataclass(frozen=True)
class Case:
    """A promtool test case: series (selector, values) at `interval`, evaluated at `at`."""

    series: tuple[tuple[str, str], ...]
    at: str
    interval: str = "1m"


@dataclass(frozen=True)
class Alert:
    """One alert rule, its runbook section and the cases that make it fire and stay silent."""

    name: str
    severity: str
    expr: str
    wait: str
    summary: str
    runbook: str
    fires: Case
    silent: Case
    labels: dict[str, str] = field(default_factory=dict)


class Alerts:
    """The alerts of one project: its slug, pipeline type and schedule decide them."""

    def __init__(self, slug: str, pipeline_type: str, schedule: str) -> None:
        self.slug = slug
        self.streaming = pipeline_type == "streaming"
        words = vocabulary()
        self.words = words
        self.selector = f'{{{words.prometheus_label(words.PIPELINE_NAME)}="{slug}"}}'
        self.by = f"by ({words.prometheus_label(words.PIPELINE_NAME)})"
        partition = words.prometheus_label(words.STREAM_PARTITION)
        self.by_partition = f"by ({words.prometheus_label(words.PIPELINE_NAME)}, {partition})"
        interval = schedule_interval_seconds(schedule)
        self.allowed = interval + max(MIN_GRACE_SECONDS, interval // 10)
        # A window that still holds the last run's samples when the allowed gap has passed.
        self.window = STREAM_WINDOW if self.streaming else duration(self.allowed + interval)
        # promtool evaluates every rule at each step up to a case's time: batch cases span
        # the schedule's gap (a year for @yearly) in about twenty steps of whole hours.
        self.step = 60 if self.streaming else 3600 * max(1, self.allowed // 20 // 3600)

    def series(self, metric: Any, suffix: str = "", **labels: str) -> str:
        """A selector of `metric` for this pipeline, as promtool input series write it."""
        pairs = {self.words.prometheus_label(self.words.PIPELINE_NAME): self.slug, **labels}
        inner = ", ".join(f'{key}="{value}"' for key, value in pairs.items())
        return f"{metric.prometheus_name}{suffix}{{{inner}}}"

    def build(self) -> list[Alert]:
        """Every alert of this project, in the rules file's order."""
        common = [self.run_failed(), self.quarantine_ratio()]
        if self.streaming:
            return [
                *common,
                self.lag_high(),
                self.lag_growing(),
                self.dead_letters(),
                self.silence(),
            ]
        return [*common, self.schedule_missed(), self.silence()]

    def _select(self, metric: Any) -> str:
        return f"{metric.prometheus_name}{self.selector}"

    def run_failed(self) -> Alert:
        w = self.words
        last = f"max {self.by} (last_over_time({{}}[{self.window}]))"
        expr = (
            f"{last.format(self._select(w.LAST_FAILURE))} - "
            f"{last.format(self._select(w.LAST_SUCCESS))} > 0"
        )
        step = duration(self.step)
        return Alert(
            name="PipelineRunFailed",
            severity="critical",
            expr=expr,
            wait="0m",
            summary=f"The last run of {self.slug} failed and none has succeeded since",
            runbook=(
                "The newest run (for a stream, the newest micro-batch) failed, and no run has "
                "succeeded after it. The run's manifest names the error class and message: "
                "`runs list` then `runs show <run id>` on the runs folder, or the run's trace "
                "(the dashboard links the run id to Tempo and its logs to Loki). A "
                "`transient` error is retried by the orchestrator; `configuration` and "
                "`data_contract` need a fix first (README: exit codes)."
            ),
            fires=Case(
                (
                    (self.series(w.LAST_SUCCESS), f"100x{6}"),
                    (self.series(w.LAST_FAILURE), f"200x{6}"),
                ),
                at=duration(3 * self.step),
                interval=step,
            ),
            silent=Case(
                (
                    (self.series(w.LAST_SUCCESS), f"300x{6}"),
                    (self.series(w.LAST_FAILURE), f"200x{6}"),
                ),
                at=duration(3 * self.step),
                interval=step,
            ),
        )

    def quarantine_ratio(self) -> Alert:
        w = self.words
        if self.streaming:
            part = f"sum {self.by} (rate({{}}[{STREAM_WINDOW}]))"
            wait, step = STREAM_WINDOW, "1m"
            bad = ("0+10x60", "0+100x60")
            good = ("0+1x60", "0+100x60")
            at = "40m"
        else:
            part = f"sum {self.by} (last_over_time({{}}[{self.window}]))"
            wait, step = "0m", duration(self.step)
            bad = ("10x3", "100x3")
            good = ("1x3", "100x3")
            at = duration(2 * self.step)
        expr = (
            f"{part.format(self._select(w.RECORDS_QUARANTINED))} / "
            f"{part.format(self._select(w.RECORDS_READ))} > {QUARANTINE_ALERT_RATIO}"
        )
        partition = {w.prometheus_label(w.PARTITION): "all"}
        return Alert(
            name="PipelineQuarantineRatioHigh",
            severity="warning",
            expr=expr,
            wait=wait,
            summary=(
                f"More than {QUARANTINE_ALERT_RATIO:.0%} of the records {self.slug} read "
                "were quarantined"
            ),
            runbook=(
                f"Over {QUARANTINE_ALERT_RATIO:.0%} of the records read recently broke a "
                "`quarantine` rule (runs above `max_quarantine_ratio` fail instead). The "
                "dashboard's top reason codes panel says which rules; `runs quarantine <run "
                "id>` shows the rows with their source coordinates. Fix the producer, or the "
                "rule in validation/rules.py when the data is right and the rule is not."
            ),
            fires=Case(
                (
                    (self.series(w.RECORDS_QUARANTINED, **partition), bad[0]),
                    (self.series(w.RECORDS_READ, **partition), bad[1]),
                ),
                at=at,
                interval=step,
            ),
            silent=Case(
                (
                    (self.series(w.RECORDS_QUARANTINED, **partition), good[0]),
                    (self.series(w.RECORDS_READ, **partition), good[1]),
                ),
                at=at,
                interval=step,
            ),
        )

    def schedule_missed(self) -> Alert:
        w = self.words
        allowed = duration(self.allowed)
        expr = (
            f"time() - max {self.by} (max_over_time({self._select(w.LAST_SUCCESS)}"
            f"[{self.window}])) > {self.allowed}"
        )
        steps = self.allowed // self.step + 2
        step, at = duration(self.step), duration(steps * self.step)
        return Alert(
            name="PipelineScheduleMissed",
            severity="critical",
            expr=expr,
            wait="0m",
            summary=f"No run of {self.slug} has succeeded for {allowed} (schedule plus grace)",
            runbook=(
                f"No run has succeeded for {allowed}: the schedule's longest gap between runs "
                "plus a grace. The data in the destination is getting stale. Check the "
                "orchestrator (is the schedule paused, are runs queued or failing?) and "
                "PipelineRunFailed; a backfill (`backfill --start ... --end ...`) catches up "
                "the partitions missed."
            ),
            # A success at t=60 s and never again, against one at every step.
            fires=Case(((self.series(w.LAST_SUCCESS), f"60x{steps}"),), at=at, interval=step),
            silent=Case(
                ((self.series(w.LAST_SUCCESS), f"60+{self.step}x{steps}"),), at=at, interval=step
            ),
        )

    def silence(self) -> Alert:
        w = self.words
        metric = w.STREAM_LAG if self.streaming else w.RUNS
        expr = f"absent_over_time({self._select(metric)}[{self.window}])"
        present = (
            self.series(metric, stream_partition="0")
            if self.streaming
            else self.series(
                metric,
                **{
                    w.prometheus_label(w.RUN_STATUS): w.SUCCEEDED,
                    w.prometheus_label(w.ERROR_TYPE): w.NO_ERROR,
                },
            )
        )
        other = self.series(metric).replace(f'"{self.slug}"', '"another-pipeline"')
        step, at = duration(self.step), duration(2 * self.step)
        return Alert(
            name="PipelineTelemetrySilent",
            severity="warning",
            expr=expr,
            wait="0m",
            summary=f"No telemetry from {self.slug} for {self.window}",
            runbook=(
                f"Nothing from this pipeline reached the metrics store for {self.window}: "
                "the pipeline is not running (a stopped consumer, a schedule that no longer "
                "fires, pods that cannot start) or its telemetry is lost (the OTLP endpoint "
                "variables, the collector, network policy egress). `doctor` prints the "
                "exporter settings; the collector's own logs say whether it receives."
            ),
            fires=Case(((other, "1x12"),), at=at, interval=step),
            silent=Case(((present, "1x12"),), at=at, interval=step),
        )

    def lag_high(self) -> Alert:
        w = self.words
        expr = f"max {self.by_partition} ({self._select(w.STREAM_LAG)}) > {LAG_ALERT_RECORDS}"
        lag = self.series(w.STREAM_LAG, stream_partition="0")
        return Alert(
            name="PipelineStreamLagHigh",
            severity="warning",
            expr=expr,
            wait="10m",
            summary=f"A partition of {self.slug} is more than {LAG_ALERT_RECORDS:,} records behind",
            runbook=(
                f"A partition (Kafka) or shard (Kinesis) is over {LAG_ALERT_RECORDS:,} records "
                "behind its end for 10 minutes. Compare batch latency and commit rate on the "
                "dashboard: slow batches point at the destination, few commits at the "
                "consumer (restarts, rebalances). Add replicas up to the partition count, "
                "or raise `stream.max_batch_records`."
            ),
            labels={w.prometheus_label(w.STREAM_PARTITION): "0"},
            fires=Case(((lag, "200000x30"),), at="20m"),
            silent=Case(((lag, "500x30"),), at="20m"),
        )

    def lag_growing(self) -> Alert:
        w = self.words
        lag_slope = f"deriv({self._select(w.STREAM_LAG)}[{STREAM_WINDOW}])"
        expr = f"min {self.by_partition} ({lag_slope}) > 0"
        lag = self.series(w.STREAM_LAG, stream_partition="0")
        return Alert(
            name="PipelineStreamLagGrowing",
            severity="warning",
            expr=expr,
            wait="30m",
            summary=f"The lag of a partition of {self.slug} has grown for 30 minutes",
            runbook=(
                "The consumer reads slower than producers write: the lag of a partition has "
                "grown for 30 minutes without a break. Same checks as PipelineStreamLagHigh, "
                "before the lag is large."
            ),
            labels={w.prometheus_label(w.STREAM_PARTITION): "0"},
            fires=Case(((lag, "0+100x80"),), at="60m"),
            silent=Case(((lag, "0+0x80"),), at="60m"),
        )

    def dead_letters(self) -> Alert:
        w = self.words
        expr = f"sum {self.by} (increase({self._select(w.DEAD_LETTERS)}[{STREAM_WINDOW}])) > 0"
        letters = self.series(w.DEAD_LETTERS)
        return Alert(
            name="PipelineDeadLetters",
            severity="warning",
            expr=expr,
            wait="0m",
            summary=f"{self.slug} dead-lettered records in the last {STREAM_WINDOW}",
            runbook=(
                "Records arrived that the pipeline cannot take (malformed, or breaking a "
                "`quarantine` rule): they went to the dead-letter destination with their "
                "reason code and coordinates, and the stream moved on (docs/stream.md). The "
                "dashboard's reason codes say why; fix the producer, then replay them."
            ),
            fires=Case(((letters, "0+0x10 1+1x10"),), at="15m"),
            silent=Case(((letters, "0+0x30"),), at="25m"),
        )


def alerts(slug: str, pipeline_type: str, schedule: str) -> list[Alert]:
    """The project's alerts."""
    return Alerts(slug, pipeline_type, schedule).build()


def _rule(alert: Alert, slug: str) -> dict[str, Any]:
    return {
        "alert": alert.name,
        "expr": alert.expr,
        "for": alert.wait,
        "labels": {"severity": alert.severity, "pipeline": slug},
        "annotations": {
            "summary": alert.summary,
            "runbook": f"{RUNBOOK}#{alert.name.lower()}",
        },
    }


def rule_groups(slug: str, pipeline_type: str, schedule: str) -> dict[str, Any]:
    """The Prometheus rules file's content: one group named after the pipeline."""
    rules = [_rule(alert, slug) for alert in alerts(slug, pipeline_type, schedule)]
    return {"groups": [{"name": slug, "rules": rules}]}


def _test(alert: Alert, case: Case, slug: str, fires: bool) -> dict[str, Any]:
    rule = _rule(alert, slug)
    expected: list[dict[str, Any]] = []
    if fires:
        words = vocabulary()
        labels = {words.prometheus_label(words.PIPELINE_NAME): slug, **alert.labels}
        expected = [
            {
                "exp_labels": {**labels, **rule["labels"]},
                "exp_annotations": rule["annotations"],
            }
        ]
    return {
        "name": f"{alert.name} {'fires on' if fires else 'stays silent on'} its series",
        "interval": case.interval,
        "input_series": [{"series": series, "values": values} for series, values in case.series],
        "alert_rule_test": [
            {"eval_time": case.at, "alertname": alert.name, "exp_alerts": expected}
        ],
    }


def rule_tests(slug: str, pipeline_type: str, schedule: str, rules_file: str) -> dict[str, Any]:
    """promtool's unit tests of the rules: each alert fires on one case, not on the other."""
    built = Alerts(slug, pipeline_type, schedule)
    tests = []
    for alert in built.build():
        tests.append(_test(alert, alert.fires, slug, fires=True))
        tests.append(_test(alert, alert.silent, slug, fires=False))
    return {"rule_files": [rules_file], "evaluation_interval": duration(built.step), "tests": tests}


def to_yaml(document: dict[str, Any]) -> str:
    """Block-style YAML, keys in the order built, long lines kept whole."""
    return yaml.safe_dump(document, sort_keys=False, width=1000, allow_unicode=True)


def alert_rules_yaml(slug: str, pipeline_type: str, schedule: str) -> str:
    """The rules file, as YAML."""
    return to_yaml(rule_groups(slug, pipeline_type, schedule))


def alert_tests_yaml(slug: str, pipeline_type: str, schedule: str, rules_file: str) -> str:
    """The rules' promtool tests, as YAML; `rules_file` relative to the tests' file."""
    return to_yaml(rule_tests(slug, pipeline_type, schedule, rules_file))


def prometheus_rule_yaml(slug: str, pipeline_type: str, schedule: str) -> str:
    """The rules as a prometheus-operator `PrometheusRule` (kube-prometheus-stack selects
    rules by its Helm release's label, `release`, set for a release named
    `kube-prometheus-stack`)."""
    resource = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": f"{slug}-alerts",
            "labels": {
                "app.kubernetes.io/name": slug,
                "release": "kube-prometheus-stack",
            },
        },
        "spec": rule_groups(slug, pipeline_type, schedule),
    }
    return to_yaml(resource)


def metrics(pipeline_type: str) -> list[Any]:
    """The vocabulary's metrics a pipeline of this type emits (for docs/metrics.md)."""
    return list(vocabulary().emitted(streaming=pipeline_type == "streaming"))


GLOBALS: dict[str, Callable[..., Any]] = {
    "metrics": metrics,
    "alerts": alerts,
    "alert_rules_yaml": alert_rules_yaml,
    "alert_tests_yaml": alert_tests_yaml,
    "prometheus_rule_yaml": prometheus_rule_yaml,
}


class ObservabilityGlobals(Extension):
    """Adds the alert rules' functions as Jinja globals."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals.update(GLOBALS)
