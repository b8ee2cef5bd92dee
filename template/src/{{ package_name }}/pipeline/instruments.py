"""The instruments a pipeline run records into: a tracer, record counters and a histogram.

`telemetry.py` builds them on the providers it configures; the runner only records.
"""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.metrics import Counter, Histogram, Meter


@dataclass(frozen=True)
class PipelineInstruments:
    """The tracer, record counters and stage-duration histogram of a pipeline."""

    tracer: trace.Tracer
    records_read: Counter
    records_written: Counter
    records_quarantined: Counter
    records_filtered: Counter
    stage_duration: Histogram

    @classmethod
    def create(cls, tracer: trace.Tracer, meter: Meter) -> PipelineInstruments:
        """Create the instruments on a meter."""

        def counter(what: str) -> Counter:
            return meter.create_counter(
                f"pipeline.records.{what}", unit="{record}", description=f"Records {what}"
            )

        return cls(
            tracer=tracer,
            records_read=counter("read"),
            records_written=counter("written"),
            records_quarantined=counter("quarantined"),
            records_filtered=counter("filtered"),
            stage_duration=meter.create_histogram(
                "pipeline.stage.duration", unit="s", description="Wall time of each stage"
            ),
        )
