"""The metric vocabulary: every metric the pipeline emits, its unit, kind and attributes.

One definition shared by the code (the instruments are created from it), the dashboards and
the alert rules in observability/ (generated from it by the template) and their tests: a
name changed here changes everywhere, or a test fails. Names follow the OpenTelemetry
semantic-convention style (dotted, lower case, the unit in `unit`, never in the name); the
Prometheus names dashboards and alerts query are derived as OTel's Prometheus exporters and
OTLP receivers derive them (`prometheus_name`). docs/metrics.md documents the list.

Every data point carries `pipeline.name`, so one Prometheus, Mimir or Grafana Cloud stack can
hold many pipelines. Batch processes are short-lived: their metrics leave at exit (the
telemetry shutdown flushes them), and the run-outcome gauges (`pipeline.run.last_success`,
`pipeline.run.last_failure`) are seeded from the runs folder so that each run re-exports
the history freshness alerts need.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

# The template reads this module when it renders the alert rules and dashboards, where no
# OpenTelemetry is installed: the API is imported where instruments are created.
if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, Counter, Histogram, Meter

# Attributes (OTel names; Prometheus labels replace the dots with underscores).
PIPELINE_NAME = "pipeline.name"
PARTITION = "pipeline.partition"
STAGE = "pipeline.stage"
RUN_STATUS = "pipeline.run.status"
ERROR_TYPE = "error.type"
REASON = "pipeline.reason"
STREAM_PARTITION = "stream.partition"

# Values of `pipeline.run.status`, as run manifests spell them.
SUCCEEDED = "succeeded"
FAILED = "failed"
INTERRUPTED = "interrupted"
# `error.type` of a run that did not fail (the attribute is always present, so a query's
# `by (error_type)` never drops a series).
NO_ERROR = "none"

# Seconds: a stage takes milliseconds to hours, a stream batch milliseconds to a minute.
DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800, 3600)

Kind = Literal["counter", "histogram", "gauge"]
Side = Literal["all", "stream"]
# OTel units -> the Prometheus suffix its exporters append ({annotations} add none).
PROMETHEUS_UNITS = {"s": "seconds"}


@dataclass(frozen=True)
class Metric:
    """One metric: its OTel name, kind, unit, description and attributes.

    `side`: "all" when every pipeline emits it, "stream" when only a stream consumer does.
    """

    name: str
    kind: Kind
    unit: str
    description: str
    attributes: tuple[str, ...]
    side: Side = "all"

    @property
    def prometheus_name(self) -> str:
        """The name Prometheus stores it under: dots to underscores, the unit appended,
        `_total` for counters (OTel's Prometheus compatibility rules)."""
        name = self.name.replace(".", "_")
        unit = PROMETHEUS_UNITS.get(self.unit)
        if unit and not name.endswith(f"_{unit}"):
            name = f"{name}_{unit}"
        return f"{name}_total" if self.kind == "counter" else name

    @property
    def labels(self) -> tuple[str, ...]:
        """The attributes as Prometheus labels."""
        return tuple(prometheus_label(attribute) for attribute in self.attributes)

    def counter(self, meter: Meter) -> Counter:
        """Create this counter on `meter`."""
        return meter.create_counter(self.name, unit=self.unit, description=self.description)

    def histogram(self, meter: Meter) -> Histogram:
        """Create this histogram on `meter`, with buckets that suit durations in seconds."""
        return meter.create_histogram(
            self.name,
            unit=self.unit,
            description=self.description,
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        )

    def gauge(
        self, meter: Meter, observe: Callable[[], Iterable[tuple[float, dict[str, str]]]]
    ) -> None:
        """Create this gauge on `meter`; `observe` yields (value, attributes) when read."""
        from opentelemetry.metrics import Observation

        def callback(options: CallbackOptions) -> Iterable[Observation]:
            del options
            return [Observation(value, attributes) for value, attributes in observe()]

        meter.create_observable_gauge(
            self.name, callbacks=[callback], unit=self.unit, description=self.description
        )


def prometheus_label(attribute: str) -> str:
    """The Prometheus label of an OTel attribute."""
    return attribute.replace(".", "_")


def _records(what: str, description: str) -> Metric:
    return Metric(
        f"pipeline.records.{what}", "counter", "{record}", description, (PIPELINE_NAME, PARTITION)
    )


RECORDS_READ = _records("read", "Records read from the source (malformed ones included)")
RECORDS_WRITTEN = _records("written", "Records committed to the destination")
RECORDS_QUARANTINED = _records("quarantined", "Records quarantined (dead-lettered for streams)")
RECORDS_FILTERED = _records("filtered", "Records the transforms dropped on purpose")
VIOLATIONS = Metric(
    "pipeline.violations",
    "counter",
    "{record}",
    "Rule violations by stable reason code (a record may break several rules)",
    (PIPELINE_NAME, REASON),
)
STAGE_DURATION = Metric(
    "pipeline.stage.duration", "histogram", "s", "Wall time of each stage", (PIPELINE_NAME, STAGE)
)
RUNS = Metric(
    "pipeline.runs",
    "counter",
    "{run}",
    "Runs finished, by outcome and error class",
    (PIPELINE_NAME, RUN_STATUS, ERROR_TYPE),
)
RUN_DURATION = Metric(
    "pipeline.run.duration",
    "histogram",
    "s",
    "Wall time of each run, by outcome",
    (PIPELINE_NAME, RUN_STATUS),
)
LAST_SUCCESS = Metric(
    "pipeline.run.last_success",
    "gauge",
    "s",
    "Unix time the last successful run finished (0: none yet)",
    (PIPELINE_NAME,),
)
LAST_FAILURE = Metric(
    "pipeline.run.last_failure",
    "gauge",
    "s",
    "Unix time the last failed run finished (0: none yet)",
    (PIPELINE_NAME,),
)
STREAM_BATCH_DURATION = Metric(
    "pipeline.stream.batch.duration",
    "histogram",
    "s",
    "Wall time from a batch's poll to its acknowledgement",
    (PIPELINE_NAME,),
    side="stream",
)
DEAD_LETTERS = Metric(
    "pipeline.stream.dead_letters",
    "counter",
    "{record}",
    "Records dead-lettered",
    (PIPELINE_NAME,),
    side="stream",
)
STREAM_LAG = Metric(
    "pipeline.stream.lag",
    "gauge",
    "{record}",
    "How far each owned partition (or shard) is behind its end",
    (PIPELINE_NAME, STREAM_PARTITION),
    side="stream",
)

METRICS: tuple[Metric, ...] = (
    RECORDS_READ,
    RECORDS_WRITTEN,
    RECORDS_QUARANTINED,
    RECORDS_FILTERED,
    VIOLATIONS,
    STAGE_DURATION,
    RUNS,
    RUN_DURATION,
    LAST_SUCCESS,
    LAST_FAILURE,
    STREAM_BATCH_DURATION,
    DEAD_LETTERS,
    STREAM_LAG,
)


def emitted(streaming: bool) -> Sequence[Metric]:
    """The metrics a pipeline of this kind emits."""
    return [metric for metric in METRICS if streaming or metric.side == "all"]
