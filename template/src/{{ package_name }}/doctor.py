"""`doctor`: checks configuration and reachability, and says what to fix for each problem."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .engines.configuration import describe_engine
from .errors import PipelineError
from .reachability import check_connectable, check_writable
from .settings import Settings, TelemetrySettings, load_settings
from .sinks.configuration import describe_destination
from .sources.configuration import describe_source


@dataclass(frozen=True)
class CheckResult:
    """One line of the doctor's report."""

    name: str
    ok: bool
    detail: str


def run_checks(config_file: Path | None) -> list[CheckResult]:
    """Every check; later checks are skipped when the settings themselves are invalid."""
    try:
        settings = load_settings(config_file)
    except PipelineError as error:
        return [CheckResult("settings", False, str(error))]
    checks: list[tuple[str, Callable[[Settings], str]]] = [
        ("engine", lambda s: describe_engine(s.engine)),
        ("source", lambda s: describe_source(s.source)),
        ("destination", lambda s: describe_destination(s.destination)),
        ("runs_dir", lambda s: check_writable(s.runs_dir, "runs_dir")),
        ("telemetry", lambda s: _telemetry(s.telemetry)),
    ]
    results = [CheckResult("settings", True, _describe(settings))]
    for name, check in checks:
        try:
            results.append(CheckResult(name, True, check(settings)))
        except (PipelineError, OSError, ValueError) as error:
            results.append(CheckResult(name, False, str(error)))
    return results


def _describe(settings: Settings) -> str:
    # model_dump keeps SecretStr masked, so this is safe to print.
    return f"loaded: {settings.model_dump(mode='json')}"


def _telemetry(settings: TelemetrySettings) -> str:
    if settings.sdk_disabled:
        return "OTEL_SDK_DISABLED=true: no telemetry is exported"
    endpoints = {
        signal: endpoint
        for signal in ("traces", "metrics", "logs")
        if (endpoint := settings.endpoint_for(signal))
    }
    if not endpoints:
        return "not exporting (set OTEL_EXPORTER_OTLP_ENDPOINT to send telemetry over OTLP)"
    for signal, endpoint in endpoints.items():
        parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
        host = parts.hostname or "localhost"
        port = parts.port or (4317 if settings.protocol == "grpc" else 4318)
        check_connectable(
            host,
            port,
            f"{signal} endpoint",
            "start the collector or fix OTEL_EXPORTER_OTLP_ENDPOINT",
        )
    headers = "with headers (hidden)" if settings.headers else "without headers"
    return f"{settings.protocol} to {sorted(set(endpoints.values()))} reachable, {headers}"
