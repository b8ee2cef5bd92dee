"""The OTLP receiver shipped in generated projects receives what the real exporters send.

`template/tests/otlp_receiver.py` is copied verbatim into every generated project, where the
telemetry tests rely on it. These tests load it straight from the template and point the real
opentelemetry-sdk OTLP exporters, gRPC and HTTP, at it.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import (
    OTLPLogExporter as GrpcLogExporter,
)
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
    OTLPMetricExporter as GrpcMetricExporter,
)
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import (
    OTLPLogExporter as HttpLogExporter,
)
from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
    OTLPMetricExporter as HttpMetricExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

RECEIVER_PATH = Path(__file__).resolve().parents[1] / "template" / "tests" / "otlp_receiver.py"
TRANSPORTS = ["grpc", "http"]


def _load_receiver_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("otlp_receiver_under_test", RECEIVER_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Dataclasses resolve their string annotations through sys.modules.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


otlp_receiver = _load_receiver_module()


@pytest.fixture(autouse=True)
def _no_ambient_otel_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep OTEL_* variables of the machine from redirecting or reshaping the exports."""
    for name in [name for name in os.environ if name.startswith("OTEL_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def receiver() -> Iterator[Any]:
    with otlp_receiver.OtlpReceiver() as running:
        yield running


def _resource() -> Resource:
    return Resource.create({"service.name": "orders-pipeline", "deployment.environment": "test"})


def _span_exporter(receiver: Any, transport: str, **options: Any) -> Any:
    if transport == "grpc":
        return GrpcSpanExporter(endpoint=receiver.grpc_endpoint, insecure=True, **options)
    return HttpSpanExporter(endpoint=f"{receiver.http_endpoint}/v1/traces", **options)


def _metric_exporter(receiver: Any, transport: str) -> Any:
    if transport == "grpc":
        return GrpcMetricExporter(endpoint=receiver.grpc_endpoint, insecure=True)
    return HttpMetricExporter(endpoint=f"{receiver.http_endpoint}/v1/metrics")


def _log_exporter(receiver: Any, transport: str) -> Any:
    if transport == "grpc":
        return GrpcLogExporter(endpoint=receiver.grpc_endpoint, insecure=True)
    return HttpLogExporter(endpoint=f"{receiver.http_endpoint}/v1/logs")


def _export_one_trace(exporter: Any) -> tuple[str, str, str]:
    """Export a parent and a child span; return (trace id, parent id, child id) in hex."""
    provider = TracerProvider(resource=_resource())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("orders_pipeline.extract")
    try:
        with (
            tracer.start_as_current_span("extract", attributes={"rows": 3}) as parent,
            tracer.start_as_current_span("read_file", attributes={"path": "a.parquet"}) as child,
        ):
            pass
    finally:
        provider.shutdown()
    parent_context, child_context = parent.get_span_context(), child.get_span_context()
    return (
        format(parent_context.trace_id, "032x"),
        format(parent_context.span_id, "016x"),
        format(child_context.span_id, "016x"),
    )


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_spans_arrive_with_attributes_resource_and_parentage(receiver: Any, transport: str) -> None:
    trace_id, parent_id, child_id = _export_one_trace(_span_exporter(receiver, transport))

    assert receiver.wait_for(lambda r: len(r.spans()) == 2, timeout=5)
    spans = {span.name: span for span in receiver.spans()}
    parent, child = spans["extract"], spans["read_file"]
    assert parent.attributes == {"rows": 3}
    assert child.attributes == {"path": "a.parquet"}
    assert parent.resource_attributes["service.name"] == "orders-pipeline"
    assert parent.resource_attributes["deployment.environment"] == "test"
    assert (parent.trace_id, parent.span_id, parent.parent_span_id) == (trace_id, parent_id, None)
    assert (child.trace_id, child.span_id, child.parent_span_id) == (trace_id, child_id, parent_id)
    assert parent.scope_name == "orders_pipeline.extract"
    assert {span.transport for span in spans.values()} == {transport}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_counter_and_histogram_points_arrive(receiver: Any, transport: str) -> None:
    reader = PeriodicExportingMetricReader(
        _metric_exporter(receiver, transport), export_interval_millis=60_000
    )
    provider = MeterProvider(resource=_resource(), metric_readers=[reader])
    meter = provider.get_meter("orders_pipeline.load")
    rows_loaded = meter.create_counter("rows_loaded", unit="{row}")
    load_seconds = meter.create_histogram("load_duration", unit="s")
    try:
        rows_loaded.add(3, {"table": "orders"})
        rows_loaded.add(2, {"table": "orders"})
        load_seconds.record(1.5, {"table": "orders"})
        load_seconds.record(4.0, {"table": "orders"})
    finally:
        provider.shutdown()  # collects and exports once more before closing

    assert receiver.wait_for(
        lambda r: {"rows_loaded", "load_duration"} <= r.metrics().keys(), timeout=5
    )
    metrics = receiver.metrics()
    counter, histogram = metrics["rows_loaded"][-1], metrics["load_duration"][-1]
    assert (counter.kind, counter.value, counter.attributes) == ("sum", 5, {"table": "orders"})
    assert (histogram.kind, histogram.value) == ("histogram", None)
    assert (histogram.sum, histogram.count) == (5.5, 2)
    assert histogram.attributes == {"table": "orders"}
    assert counter.resource_attributes["service.name"] == "orders-pipeline"
    assert counter.scope_name == "orders_pipeline.load"
    assert {counter.transport, histogram.transport} == {transport}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_logs_arrive_correlated_with_the_active_span(receiver: Any, transport: str) -> None:
    tracer_provider = TracerProvider(resource=_resource())
    logger_provider = LoggerProvider(resource=_resource())
    logger_provider.add_log_record_processor(
        SimpleLogRecordProcessor(_log_exporter(receiver, transport))
    )
    logger = logger_provider.get_logger("orders_pipeline.validate")
    try:
        with tracer_provider.get_tracer("t").start_as_current_span("validate") as span:
            logger.emit(
                body="3 rows rejected",
                severity_text="WARN",
                severity_number=SeverityNumber.WARN,
                attributes={"rejected": 3},
            )
        logger.emit(body="done", severity_text="INFO", severity_number=SeverityNumber.INFO)
    finally:
        logger_provider.shutdown()
        tracer_provider.shutdown()

    assert receiver.wait_for(lambda r: len(r.logs()) == 2, timeout=5)
    in_span, outside = receiver.logs()
    assert (in_span.body, in_span.severity_text) == ("3 rows rejected", "WARN")
    assert in_span.severity_number == SeverityNumber.WARN.value
    assert in_span.attributes == {"rejected": 3}
    assert in_span.trace_id == format(span.get_span_context().trace_id, "032x")
    assert in_span.span_id == format(span.get_span_context().span_id, "016x")
    assert in_span.resource_attributes["service.name"] == "orders-pipeline"
    assert in_span.scope_name == "orders_pipeline.validate"
    assert (outside.body, outside.trace_id, outside.span_id) == ("done", None, None)
    assert {in_span.transport, outside.transport} == {transport}


@pytest.mark.parametrize(
    ("transport", "options"),
    [
        ("http", {"compression": Compression.Gzip}),
        ("http", {"compression": Compression.Deflate}),
        ("http", {"compression": Compression.NoCompression}),
        ("grpc", {"compression": grpc.Compression.Gzip}),
    ],
    ids=["http-gzip", "http-deflate", "http-none", "grpc-gzip"],
)
def test_compressed_exports_are_decoded(
    receiver: Any, transport: str, options: dict[str, Any]
) -> None:
    _export_one_trace(_span_exporter(receiver, transport, **options))

    assert receiver.wait_for(lambda r: len(r.spans()) == 2, timeout=5)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_http_replies_with_an_empty_protobuf_response(receiver: Any) -> None:
    body = gzip.compress(trace_service_pb2.ExportTraceServiceRequest().SerializeToString())
    headers = {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}

    status, reply = _post(f"{receiver.http_endpoint}/v1/traces", body, headers)

    assert status == 200
    response = trace_service_pb2.ExportTraceServiceResponse.FromString(reply)
    assert not response.HasField("partial_success")


@pytest.mark.parametrize(
    ("path", "headers", "body", "expected_status"),
    [
        ("/v1/profiles", {"Content-Type": "application/x-protobuf"}, b"", 404),
        ("/v1/traces", {"Content-Type": "application/json"}, b"{}", 415),
        ("/v1/traces", {"Content-Type": "application/x-protobuf"}, b"\xff\xff", 400),
        (
            "/v1/traces",
            {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
            b"not gzip",
            400,
        ),
    ],
    ids=["unknown-path", "json-body", "garbage-protobuf", "bad-gzip"],
)
def test_http_rejects_what_it_cannot_decode(
    receiver: Any, path: str, headers: dict[str, str], body: bytes, expected_status: int
) -> None:
    status, _ = _post(f"{receiver.http_endpoint}{path}", body, headers)

    assert status == expected_status
    assert receiver.spans() == []


def _port(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


def test_endpoints_are_loopback_and_ports_are_released_on_stop() -> None:
    receiver = otlp_receiver.OtlpReceiver()
    with pytest.raises(RuntimeError, match="not started"):
        _ = receiver.grpc_endpoint

    receiver.start()
    endpoints = (receiver.grpc_endpoint, receiver.http_endpoint)
    receiver.stop()

    for endpoint in endpoints:
        assert endpoint.startswith("http://127.0.0.1:")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", _port(endpoint)))
    with pytest.raises(RuntimeError, match="not started"):
        _ = receiver.http_endpoint


def test_clear_forgets_received_data_and_wait_for_times_out(receiver: Any) -> None:
    _export_one_trace(_span_exporter(receiver, "http"))
    assert receiver.wait_for(lambda r: len(r.spans()) == 2, timeout=5)

    receiver.clear()

    assert receiver.wait_for(lambda r: len(r.spans()) > 0, timeout=0.1) is False
    assert (receiver.spans(), receiver.metrics(), receiver.logs()) == ([], {}, [])
