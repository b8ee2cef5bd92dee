"""The only place that configures OpenTelemetry providers.

Traces, metrics and logs go over OTLP (gRPC or HTTP, from the standard `OTEL_*` variables)
only when an endpoint is configured: with none, nothing leaves the process. Exporter
timeouts and shutdown are bounded so an unreachable collector cannot stall a run. Tests
inject in-memory exporters instead.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from opentelemetry import metrics, trace

from .build_info import BuildInfo
from .pipeline.instruments import PipelineInstruments
from .redaction import RedactingFilter, install_redaction
from .settings import TelemetrySettings

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import LogRecordExporter
    from opentelemetry.sdk.metrics.export import MetricExporter, MetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import SpanExporter

Signal = Literal["traces", "metrics", "logs"]
SIGNALS: tuple[Signal, ...] = ("traces", "metrics", "logs")
INSTRUMENTATION_SCOPE = "pipeline"


@dataclass
class Telemetry:
    """The configured providers; `shutdown` flushes them within a bounded time.

    With nothing to export, the providers are the API's no-op ones: spans and metrics cost
    nothing and the SDK is not even imported.
    """

    tracer_provider: trace.TracerProvider
    meter_provider: metrics.MeterProvider
    logger_provider: LoggerProvider | None
    timeout_seconds: float
    exporting: tuple[Signal, ...] = ()
    _shutdowns: list[Callable[[], object]] = field(default_factory=list, repr=False)
    _log_handler: logging.Handler | None = field(default=None, repr=False)
    _logged: list[logging.Logger] = field(default_factory=list, repr=False)
    _instruments: PipelineInstruments | None = field(default=None, repr=False)

    def instruments(self) -> PipelineInstruments:
        """The tracer and metric instruments the runner records with, created once: the SDK
        keeps the first of two instruments of one name (and its gauges' callbacks)."""
        if self._instruments is None:
            self._instruments = PipelineInstruments.create(
                self.tracer_provider.get_tracer(INSTRUMENTATION_SCOPE),
                self.meter_provider.get_meter(INSTRUMENTATION_SCOPE),
            )
        return self._instruments

    def attach_logging(self, logger: logging.Logger) -> None:
        """Send records of `logger` to OTel logs, correlated with the active span."""
        if self.logger_provider is None:
            return
        if self._log_handler is None:
            # Imported here: the instrumentation package is slow to import and only needed
            # when logs are exported.
            from opentelemetry.instrumentation.logging.handler import LoggingHandler

            self._log_handler = LoggingHandler(logger_provider=self.logger_provider)
            self._log_handler.addFilter(RedactingFilter())
        logger.addHandler(self._log_handler)
        self._logged.append(logger)

    def shutdown(self) -> None:
        """Flush and stop every provider, giving up after `timeout_seconds` in total."""
        if self._log_handler is not None:
            for logger in self._logged:
                logger.removeHandler(self._log_handler)
            self._logged.clear()
        if not self._shutdowns:
            return

        def flush_and_stop() -> None:
            for stop in self._shutdowns:
                stop()

        # A collector outage must not hold the process hostage: run the shutdown on a
        # daemon thread and stop waiting when the budget is spent.
        worker = threading.Thread(target=flush_and_stop, name="otel-shutdown", daemon=True)
        worker.start()
        worker.join(timeout=self.timeout_seconds + 1)


def build_resource(info: BuildInfo) -> Resource:
    """Resource attributes: the pipeline, template version and engine (plus OTEL_RESOURCE_*)."""
    from opentelemetry.sdk.resources import Resource

    return Resource.create(
        {
            "service.name": info.pipeline,
            "service.namespace": "data-pipelines",
            "pipeline.name": info.pipeline,
            "pipeline.type": info.pipeline_type,
            "pipeline.engine": info.engine,
            "pipeline.orchestrator": info.orchestrator,
            "pipeline.source": info.source,
            "pipeline.destination": info.destination,
            "pipeline.template_version": info.template_version,
        }
    )


def configure_telemetry(
    settings: TelemetrySettings,
    info: BuildInfo,
    *,
    span_exporter: SpanExporter | None = None,
    metric_reader: MetricReader | None = None,
    log_exporter: LogRecordExporter | None = None,
) -> Telemetry:
    """Build providers; OTLP exporters only for signals with a configured endpoint.

    Injected exporters (tests) are used synchronously and in addition to OTLP ones.
    """
    exporting = tuple(
        signal for signal in SIGNALS if not settings.sdk_disabled and settings.endpoint_for(signal)
    )
    timeout = settings.export_timeout_seconds
    injected = (span_exporter, metric_reader, log_exporter)
    if not exporting and all(exporter is None for exporter in injected):
        return Telemetry(trace.NoOpTracerProvider(), metrics.NoOpMeterProvider(), None, timeout)
    return _sdk_telemetry(settings, info, exporting, span_exporter, metric_reader, log_exporter)


def _sdk_telemetry(
    settings: TelemetrySettings,
    info: BuildInfo,
    exporting: tuple[Signal, ...],
    span_exporter: SpanExporter | None,
    metric_reader: MetricReader | None,
    log_exporter: LogRecordExporter | None,
) -> Telemetry:
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, SimpleLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    resource = build_resource(info)
    timeout = settings.export_timeout_seconds
    timeout_millis = timeout * 1000

    tracer_provider = TracerProvider(resource=resource)
    if span_exporter is not None:
        tracer_provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    if "traces" in exporting:
        tracer_provider.add_span_processor(
            BatchSpanProcessor(
                _otlp_span_exporter(settings, timeout), export_timeout_millis=timeout_millis
            )
        )

    readers: list[MetricReader] = [] if metric_reader is None else [metric_reader]
    if "metrics" in exporting:
        readers.append(
            PeriodicExportingMetricReader(
                _otlp_metric_exporter(settings, timeout), export_timeout_millis=timeout_millis
            )
        )
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)

    logger_provider: LoggerProvider | None = None
    if log_exporter is not None or "logs" in exporting:
        logger_provider = LoggerProvider(resource=resource)
        if log_exporter is not None:
            logger_provider.add_log_record_processor(SimpleLogRecordProcessor(log_exporter))
        if "logs" in exporting:
            logger_provider.add_log_record_processor(
                BatchLogRecordProcessor(
                    _otlp_log_exporter(settings, timeout), export_timeout_millis=timeout_millis
                )
            )
    shutdowns: list[Callable[[], object]] = [
        tracer_provider.shutdown,
        lambda: meter_provider.shutdown(timeout_millis=timeout_millis),
    ]
    if logger_provider is not None:
        shutdowns.append(logger_provider.shutdown)
    return Telemetry(
        tracer_provider, meter_provider, logger_provider, timeout, exporting, shutdowns
    )


# Exporters are imported only when used: the gRPC stack costs start-up time for nothing
# when no collector is configured. Constructed without an endpoint, they read the standard
# OTEL_EXPORTER_OTLP_[SIGNAL_]ENDPOINT/HEADERS variables themselves (and add /v1/<signal>
# for HTTP), which keeps per-signal overrides working as the spec says.
def _otlp_span_exporter(settings: TelemetrySettings, timeout: float) -> SpanExporter:
    if settings.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(timeout=timeout)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpSpanExporter,
    )

    return HttpSpanExporter(timeout=timeout)


def _otlp_metric_exporter(settings: TelemetrySettings, timeout: float) -> MetricExporter:
    if settings.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        return OTLPMetricExporter(timeout=timeout)
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
        OTLPMetricExporter as HttpMetricExporter,
    )

    return HttpMetricExporter(timeout=timeout)


def _otlp_log_exporter(settings: TelemetrySettings, timeout: float) -> LogRecordExporter:
    if settings.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter

        return OTLPLogExporter(timeout=timeout)
    from opentelemetry.exporter.otlp.proto.http._log_exporter import (
        OTLPLogExporter as HttpLogExporter,
    )

    return HttpLogExporter(timeout=timeout)


class TraceContextFilter(logging.Filter):
    """Adds the active trace and span ids to every record, for correlated console logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate the record; never drops it."""
        context = trace.get_current_span().get_span_context()
        record.trace_id = format(context.trace_id, "032x") if context.is_valid else "-"
        record.span_id = format(context.span_id, "016x") if context.is_valid else "-"
        return True


def configure_logging(level: str) -> logging.Logger:
    """Console logs on stderr, each line carrying the trace id; returns the root logger.

    Whatever `level` says, SDK loggers stay at WARNING and every record is redacted before
    any handler sees it (`redaction.py`): DEBUG shows the pipeline's own detail, never the
    SDKs' request dumps or a secret.
    """
    install_redaction(os.environ)
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.addFilter(TraceContextFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s [trace=%(trace_id)s] %(message)s")
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    return root
