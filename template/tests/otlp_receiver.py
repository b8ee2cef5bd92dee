"""A real OTLP receiver, on loopback, for the telemetry tests.

No OpenTelemetry Collector, Tempo, Loki or Jaeger can be installed in CI, and an in-memory
exporter would skip the parts most likely to break: encoding, the wire and the endpoint
configuration. So this module receives real OTLP over the wire, on 127.0.0.1 with ports the
operating system chooses:

* gRPC: the OTLP collector services ``TraceService``, ``MetricsService`` and ``LogsService``,
  registered from the ``opentelemetry-proto`` generated service modules;
* HTTP: ``POST /v1/traces``, ``/v1/metrics`` and ``/v1/logs`` with ``application/x-protobuf``
  bodies, plain or compressed with gzip or deflate (``OTEL_EXPORTER_OTLP_COMPRESSION``).

Every request is decoded into small frozen records (``ReceivedSpan``, ``ReceivedMetricPoint``,
``ReceivedLog``) that tests read through thread-safe accessors on ``OtlpReceiver``::

    with OtlpReceiver() as receiver:
        exporter = OTLPSpanExporter(endpoint=receiver.grpc_endpoint, insecure=True)
        ...
        assert receiver.wait_for(lambda r: len(r.spans()) == 1, timeout=5.0)
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Generic, Literal, TypeAlias, TypeVar

import grpc
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import (
    metrics_service_pb2,
    metrics_service_pb2_grpc,
)
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2

__all__ = [
    "AttributeValue",
    "OtlpReceiver",
    "ReceivedLog",
    "ReceivedMetricPoint",
    "ReceivedSpan",
    "Transport",
]

Transport: TypeAlias = Literal["grpc", "http"]
"""The wire a payload arrived through."""

AttributeValue: TypeAlias = (
    "str | bool | int | float | bytes | list[AttributeValue] | dict[str, AttributeValue] | None"
)
"""An OTLP ``AnyValue`` decoded to Python: arrays become lists, key-value lists dicts."""

MetricKind: TypeAlias = Literal["gauge", "sum", "histogram", "exponential_histogram", "summary"]
"""The OTLP data type a metric was exported as."""


@dataclass(frozen=True)
class ReceivedSpan:
    """One span as it arrived: identity, attributes and the resource that produced it."""

    name: str
    attributes: dict[str, AttributeValue]
    resource_attributes: dict[str, AttributeValue]
    trace_id: str
    """Lower-case hex, 32 characters."""
    span_id: str
    """Lower-case hex, 16 characters."""
    parent_span_id: str | None
    """Lower-case hex, or None for a root span."""
    scope_name: str
    """The instrumentation scope, i.e. the name given to ``get_tracer``."""
    transport: Transport


@dataclass(frozen=True)
class ReceivedMetricPoint:
    """One data point of one metric.

    Gauges and sums carry ``value``; histograms and summaries carry ``sum`` and ``count``
    (``sum`` is None when the exporter left it out) and have ``value`` None.
    """

    name: str
    kind: MetricKind
    value: int | float | None
    sum: float | None
    count: int | None
    attributes: dict[str, AttributeValue]
    resource_attributes: dict[str, AttributeValue]
    scope_name: str
    """The instrumentation scope, i.e. the name given to ``get_meter``."""
    transport: Transport


@dataclass(frozen=True)
class ReceivedLog:
    """One log record, with the trace context it was emitted in (None outside any span)."""

    body: str
    """The body as text: a structured body is rendered with ``str``, a missing one is ``""``."""
    severity_text: str
    severity_number: int
    trace_id: str | None
    span_id: str | None
    attributes: dict[str, AttributeValue]
    resource_attributes: dict[str, AttributeValue]
    scope_name: str
    transport: Transport


def _decode_any_value(value: common_pb2.AnyValue) -> AttributeValue:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return value.double_value
    if kind == "bytes_value":
        return value.bytes_value
    if kind == "array_value":
        return [_decode_any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return _decode_attributes(value.kvlist_value.values)
    return None


def _decode_attributes(attributes: Iterable[common_pb2.KeyValue]) -> dict[str, AttributeValue]:
    return {attribute.key: _decode_any_value(attribute.value) for attribute in attributes}


def _hex_or_none(identifier: bytes) -> str | None:
    return identifier.hex() if identifier else None


def _decode_spans(
    request: trace_service_pb2.ExportTraceServiceRequest, transport: Transport
) -> list[ReceivedSpan]:
    received = []
    for resource_spans in request.resource_spans:
        resource_attributes = _decode_attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                received.append(
                    ReceivedSpan(
                        name=span.name,
                        attributes=_decode_attributes(span.attributes),
                        resource_attributes=resource_attributes,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=_hex_or_none(span.parent_span_id),
                        scope_name=scope_spans.scope.name,
                        transport=transport,
                    )
                )
    return received


def _decode_metric_points(
    request: metrics_service_pb2.ExportMetricsServiceRequest, transport: Transport
) -> list[ReceivedMetricPoint]:
    received = []
    for resource_metrics in request.resource_metrics:
        resource_attributes = _decode_attributes(resource_metrics.resource.attributes)
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data")
                if kind is None:
                    continue
                for attributes, value, total, count in _data_points(metric):
                    received.append(
                        ReceivedMetricPoint(
                            name=metric.name,
                            kind=kind,
                            value=value,
                            sum=total,
                            count=count,
                            attributes=_decode_attributes(attributes),
                            resource_attributes=resource_attributes,
                            scope_name=scope_metrics.scope.name,
                            transport=transport,
                        )
                    )
    return received


_PointFields: TypeAlias = tuple[
    Iterable[common_pb2.KeyValue], int | float | None, float | None, int | None
]


def _data_points(metric: metrics_pb2.Metric) -> Iterator[_PointFields]:
    """Flatten each OTLP data type's own point shape to (attributes, value, sum, count)."""
    for number_point in [*metric.gauge.data_points, *metric.sum.data_points]:
        yield number_point.attributes, _number_value(number_point), None, None
    for histogram_point in metric.histogram.data_points:
        # A histogram's sum is optional in OTLP: exporters leave it out for negative inputs.
        histogram_sum = histogram_point.sum if histogram_point.HasField("sum") else None
        yield histogram_point.attributes, None, histogram_sum, histogram_point.count
    for exponential_point in metric.exponential_histogram.data_points:
        exponential_sum = exponential_point.sum if exponential_point.HasField("sum") else None
        yield exponential_point.attributes, None, exponential_sum, exponential_point.count
    for summary_point in metric.summary.data_points:
        yield summary_point.attributes, None, summary_point.sum, summary_point.count


def _number_value(point: metrics_pb2.NumberDataPoint) -> int | float | None:
    kind = point.WhichOneof("value")
    if kind == "as_int":
        return point.as_int
    if kind == "as_double":
        return point.as_double
    return None


def _decode_logs(
    request: logs_service_pb2.ExportLogsServiceRequest, transport: Transport
) -> list[ReceivedLog]:
    received = []
    for resource_logs in request.resource_logs:
        resource_attributes = _decode_attributes(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                received.append(
                    ReceivedLog(
                        body=_body_text(record.body),
                        severity_text=record.severity_text,
                        severity_number=int(record.severity_number),
                        trace_id=_hex_or_none(record.trace_id),
                        span_id=_hex_or_none(record.span_id),
                        attributes=_decode_attributes(record.attributes),
                        resource_attributes=resource_attributes,
                        scope_name=scope_logs.scope.name,
                        transport=transport,
                    )
                )
    return received


def _body_text(body: common_pb2.AnyValue) -> str:
    decoded = _decode_any_value(body)
    if decoded is None:
        return ""
    return decoded if isinstance(decoded, str) else str(decoded)


_Request = TypeVar("_Request")
_Response = TypeVar("_Response")


class _ExportServicer(Generic[_Request, _Response]):
    """Answers one OTLP collector service's ``Export`` RPC by handing the request on."""

    def __init__(
        self,
        ingest: Callable[[_Request, Transport], None],
        make_response: Callable[[], _Response],
    ) -> None:
        self._ingest = ingest
        self._make_response = make_response

    def export(self, request: _Request, _context: Any) -> _Response:
        """Record the request and reply with an empty response, which means full success."""
        self._ingest(request, "grpc")
        return self._make_response()

    # The generated service registration looks the handler up by its proto name.
    Export = export


@dataclass(frozen=True)
class _HttpRoute:
    parse: Callable[[bytes], Any]
    ingest: Callable[[Any, Transport], None]
    response: bytes


class _OtlpHttpServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its routes, so handlers stay stateless."""

    daemon_threads = True

    def __init__(self, routes: dict[str, _HttpRoute]) -> None:
        self.routes = routes
        super().__init__(("127.0.0.1", 0), _OtlpHttpHandler)


class _OtlpHttpHandler(BaseHTTPRequestHandler):
    """Accepts OTLP/HTTP protobuf exports; anything else gets the matching 4xx status."""

    def do_POST(self) -> None:
        """Decode one export request and reply with the empty protobuf response."""
        server = self.server
        assert isinstance(server, _OtlpHttpServer)
        route = server.routes.get(self.path.split("?", 1)[0])
        if route is None:
            self._reply(HTTPStatus.NOT_FOUND)
            return
        content_type = self.headers.get("Content-Type", "").split(";", 1)[0].strip()
        if content_type != "application/x-protobuf":
            self._reply(HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        encoding = self.headers.get("Content-Encoding", "identity").strip().lower()
        try:
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            elif encoding not in ("identity", ""):
                self._reply(HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
                return
            request = route.parse(body)
        except (OSError, EOFError, zlib.error, DecodeError):
            self._reply(HTTPStatus.BAD_REQUEST)
            return
        route.ingest(request, "http")
        self._reply(HTTPStatus.OK, route.response)

    def _reply(self, status: HTTPStatus, body: bytes = b"") -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, message_format: str, *args: Any) -> None:
        """Keep request lines out of the test output."""


class OtlpReceiver:
    """Receives OTLP traces, metrics and logs over gRPC and HTTP on 127.0.0.1.

    Use it as a context manager, or call ``start()`` and ``stop()``. The endpoints are only
    known once started, because the operating system picks free ports.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans: list[ReceivedSpan] = []
        self._metric_points: list[ReceivedMetricPoint] = []
        self._logs: list[ReceivedLog] = []
        self._payloads: list[bytes] = []
        self._grpc_server: Any = None
        self._grpc_port: int | None = None
        self._http_server: _OtlpHttpServer | None = None
        self._http_thread: threading.Thread | None = None

    @property
    def grpc_endpoint(self) -> str:
        """The gRPC endpoint, e.g. ``http://127.0.0.1:40123``, for the gRPC exporters."""
        if self._grpc_port is None:
            raise RuntimeError("OtlpReceiver is not started")
        return f"http://127.0.0.1:{self._grpc_port}"

    @property
    def http_endpoint(self) -> str:
        """The HTTP base URL, e.g. ``http://127.0.0.1:40124``; append ``/v1/traces`` etc.

        The HTTP exporters' ``endpoint`` argument needs the full signal URL, while
        ``OTEL_EXPORTER_OTLP_ENDPOINT`` takes this base URL.
        """
        if self._http_server is None:
            raise RuntimeError("OtlpReceiver is not started")
        return f"http://127.0.0.1:{self._http_server.server_address[1]}"

    def start(self) -> OtlpReceiver:
        """Start both servers; returns the receiver so ``OtlpReceiver().start()`` chains."""
        if self._grpc_server is not None:
            raise RuntimeError("OtlpReceiver is already started")
        grpc_server = grpc.server(ThreadPoolExecutor(max_workers=4))
        # The generated registration helpers are untyped; they only need an object with Export.
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(  # type: ignore[no-untyped-call]
            _ExportServicer(self._ingest_traces, trace_service_pb2.ExportTraceServiceResponse),
            grpc_server,
        )
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(  # type: ignore[no-untyped-call]
            _ExportServicer(self._ingest_metrics, metrics_service_pb2.ExportMetricsServiceResponse),
            grpc_server,
        )
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(  # type: ignore[no-untyped-call]
            _ExportServicer(self._ingest_logs, logs_service_pb2.ExportLogsServiceResponse),
            grpc_server,
        )
        grpc_port = grpc_server.add_insecure_port("127.0.0.1:0")
        if not grpc_port:
            raise RuntimeError("could not bind the OTLP gRPC receiver to 127.0.0.1")
        grpc_server.start()
        self._grpc_server, self._grpc_port = grpc_server, int(grpc_port)

        http_server = _OtlpHttpServer(
            {
                "/v1/traces": _HttpRoute(
                    trace_service_pb2.ExportTraceServiceRequest.FromString,
                    self._ingest_traces,
                    trace_service_pb2.ExportTraceServiceResponse().SerializeToString(),
                ),
                "/v1/metrics": _HttpRoute(
                    metrics_service_pb2.ExportMetricsServiceRequest.FromString,
                    self._ingest_metrics,
                    metrics_service_pb2.ExportMetricsServiceResponse().SerializeToString(),
                ),
                "/v1/logs": _HttpRoute(
                    logs_service_pb2.ExportLogsServiceRequest.FromString,
                    self._ingest_logs,
                    logs_service_pb2.ExportLogsServiceResponse().SerializeToString(),
                ),
            }
        )
        http_thread = threading.Thread(
            target=http_server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="otlp-http-receiver",
            daemon=True,
        )
        http_thread.start()
        self._http_server, self._http_thread = http_server, http_thread
        return self

    def stop(self) -> None:
        """Stop both servers and release their ports; received data stays readable."""
        if self._http_server is not None:
            self._http_server.shutdown()
            self._http_server.server_close()
            self._http_server = None
        if self._http_thread is not None:
            self._http_thread.join(timeout=5)
            self._http_thread = None
        if self._grpc_server is not None:
            self._grpc_server.stop(grace=None).wait(timeout=5)
            self._grpc_server = None
            self._grpc_port = None

    def __enter__(self) -> OtlpReceiver:
        """Start the receiver for the ``with`` block."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the receiver, whether or not the block raised."""
        self.stop()

    def spans(self) -> list[ReceivedSpan]:
        """Return every span received so far, in arrival order."""
        with self._lock:
            return list(self._spans)

    def metrics(self) -> dict[str, list[ReceivedMetricPoint]]:
        """Return the data points received so far, by metric name, in arrival order.

        Exporters send cumulative points by default, so a later point of the same metric and
        attributes supersedes an earlier one: read the last.
        """
        by_name: dict[str, list[ReceivedMetricPoint]] = {}
        with self._lock:
            for point in self._metric_points:
                by_name.setdefault(point.name, []).append(point)
        return by_name

    def logs(self) -> list[ReceivedLog]:
        """Return every log record received so far, in arrival order."""
        with self._lock:
            return list(self._logs)

    def payloads(self) -> list[bytes]:
        """Every export request received so far, re-encoded as protobuf bytes: all of it,
        span events and every attribute included, for searches the records do not cover
        (a canary must appear nowhere)."""
        with self._lock:
            return list(self._payloads)

    def clear(self) -> None:
        """Forget everything received, e.g. between tests sharing one receiver."""
        with self._lock:
            self._spans.clear()
            self._metric_points.clear()
            self._logs.clear()
            self._payloads.clear()

    def wait_for(
        self,
        predicate: Callable[[OtlpReceiver], bool],
        timeout: float = 5.0,
        interval: float = 0.02,
    ) -> bool:
        """Poll ``predicate(self)`` until it is true or ``timeout`` seconds pass.

        Returns whether it became true, so tests can ``assert receiver.wait_for(...)``.
        """
        deadline = time.monotonic() + timeout
        while True:
            if predicate(self):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(interval)

    def _ingest_traces(
        self, request: trace_service_pb2.ExportTraceServiceRequest, transport: Transport
    ) -> None:
        received = _decode_spans(request, transport)
        with self._lock:
            self._spans.extend(received)
            self._payloads.append(request.SerializeToString())

    def _ingest_metrics(
        self, request: metrics_service_pb2.ExportMetricsServiceRequest, transport: Transport
    ) -> None:
        received = _decode_metric_points(request, transport)
        with self._lock:
            self._metric_points.extend(received)
            self._payloads.append(request.SerializeToString())

    def _ingest_logs(
        self, request: logs_service_pb2.ExportLogsServiceRequest, transport: Transport
    ) -> None:
        received = _decode_logs(request, transport)
        with self._lock:
            self._logs.extend(received)
            self._payloads.append(request.SerializeToString())
