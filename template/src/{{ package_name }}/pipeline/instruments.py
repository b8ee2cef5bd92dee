"""The instruments a pipeline run records into: a tracer, and the metrics of `vocabulary.py`.

`telemetry.py` builds them on the providers it configures; the runner only records.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from opentelemetry import trace
from opentelemetry.metrics import Counter, Histogram, Meter

from .. import vocabulary
from ..vocabulary import FAILED, PIPELINE_NAME, SUCCEEDED


@dataclass
class RunHistory:
    """When the last successful and the last failed run finished (Unix time; 0: none yet).

    Read by the `pipeline.run.last_success` and `.last_failure` gauges whenever metrics are
    collected, the last time at shutdown: a batch process that lives for one run exports
    them once, before it exits. `seed` starts them from the runs folder, so every run
    re-exports the history freshness and failure alerts compare (a run that fails still
    says when the last success was).
    """

    pipeline: str | None = None
    last_success: float = 0.0
    last_failure: float = 0.0

    def seed(self, pipeline: str, last_success: float, last_failure: float) -> None:
        """Start from what earlier processes recorded."""
        self.pipeline = pipeline
        self.last_success = max(self.last_success, last_success)
        self.last_failure = max(self.last_failure, last_failure)

    def finished(self, pipeline: str, status: str, at: float) -> None:
        """A run of `pipeline` finished at `at` with `status`."""
        self.pipeline = pipeline
        if status == SUCCEEDED:
            self.last_success = at
        elif status == FAILED:
            self.last_failure = at

    def successes(self) -> Iterator[tuple[float, dict[str, str]]]:
        """The last-success gauge's observation (none before a pipeline is known)."""
        if self.pipeline is not None:
            yield self.last_success, {PIPELINE_NAME: self.pipeline}

    def failures(self) -> Iterator[tuple[float, dict[str, str]]]:
        """The last-failure gauge's observation (none before a pipeline is known)."""
        if self.pipeline is not None:
            yield self.last_failure, {PIPELINE_NAME: self.pipeline}


@dataclass(frozen=True)
class PipelineInstruments:
    """The tracer, record counters, run and stage metrics of a pipeline."""

    tracer: trace.Tracer
    records_read: Counter
    records_written: Counter
    records_quarantined: Counter
    records_filtered: Counter
    violations: Counter
    stage_duration: Histogram
    runs: Counter
    run_duration: Histogram
    history: RunHistory = field(default_factory=RunHistory)

    @classmethod
    def create(cls, tracer: trace.Tracer, meter: Meter) -> PipelineInstruments:
        """Create the instruments on a meter, as the vocabulary defines them."""
        history = RunHistory()
        vocabulary.LAST_SUCCESS.gauge(meter, history.successes)
        vocabulary.LAST_FAILURE.gauge(meter, history.failures)
        return cls(
            tracer=tracer,
            records_read=vocabulary.RECORDS_READ.counter(meter),
            records_written=vocabulary.RECORDS_WRITTEN.counter(meter),
            records_quarantined=vocabulary.RECORDS_QUARANTINED.counter(meter),
            records_filtered=vocabulary.RECORDS_FILTERED.counter(meter),
            violations=vocabulary.VIOLATIONS.counter(meter),
            stage_duration=vocabulary.STAGE_DURATION.histogram(meter),
            runs=vocabulary.RUNS.counter(meter),
            run_duration=vocabulary.RUN_DURATION.histogram(meter),
            history=history,
        )
