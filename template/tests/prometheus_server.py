"""A real Prometheus for the tests, scraping a real run's metrics, and the queries to ask it.

Debian's `prometheus` (2.42) has no OTLP receiver, so the run's metrics reach it the other
standard way: the OpenTelemetry SDK's Prometheus exporter (`MetricsEndpoint`) serves them on
loopback and Prometheus scrapes it every second. Prometheus runs from a throwaway config and
data folder on 127.0.0.1 and is stopped by PID. In CI (`CI=true`) a missing binary fails the
test, never skips it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
import yaml
from opentelemetry.exporter.prometheus import PrometheusMetricReader

PROJECT = Path(__file__).resolve().parent.parent
DASHBOARDS = PROJECT / "observability" / "grafana" / "dashboards"
RULES = PROJECT / "observability" / "prometheus" / "alerts.yml"
SCRAPE_SECONDS = 1
START_TIMEOUT_S = 30
# Grafana's macros, as a dashboard over the last hour would expand them.
GRAFANA_MACROS = {"$__rate_interval": "1m", "$__interval": "1m", "$__range": "1h"}
# An alert is its measured quantity, compared to a threshold; the quantity must have series.
THRESHOLD = re.compile(r"\s*(>|<|>=|<=|==|!=)\s*[-+0-9.e]+\s*$")


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class MetricsEndpoint:
    """The OTel SDK's Prometheus exporter, served on loopback for Prometheus to scrape."""

    def __init__(self) -> None:
        self.reader = PrometheusMetricReader()
        self.port = free_port()
        self._server: Any = None

    @property
    def address(self) -> str:
        """host:port Prometheus scrapes."""
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> MetricsEndpoint:
        from prometheus_client import start_http_server

        self._server, _ = start_http_server(self.port, addr="127.0.0.1")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def prometheus_tool(name: str) -> str:
    """The path of `name` (`prometheus`, `promtool`: Debian's `prometheus` package)."""
    found = shutil.which(name)
    if found is None:
        message = f"{name} is not on PATH: install it (`apt-get install prometheus`)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


def promtool() -> str:
    """promtool's path."""
    return prometheus_tool("promtool")


class PrometheusServer:
    """A Prometheus scraping `target` every second, on its own port and data folder."""

    def __init__(self, folder: Path, target: str) -> None:
        self.folder = folder
        self.target = target
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its HTTP API's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> PrometheusServer:
        binary = prometheus_tool("prometheus")
        config = {
            "global": {"scrape_interval": f"{SCRAPE_SECONDS}s"},
            "scrape_configs": [
                {"job_name": "pipeline", "static_configs": [{"targets": [self.target]}]}
            ],
        }
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / "prometheus.yml"
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        log = (self.folder / "prometheus.log").open("wb")
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={path}",
                f"--storage.tsdb.path={self.folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited: {self.log()}")
            try:
                ready = f"{self.url}/-/ready"  # http on loopback, built here
                with urllib.request.urlopen(ready, timeout=1) as answer:  # noqa: S310
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.__exit__(None, None, None)
        raise RuntimeError(f"prometheus not ready after {START_TIMEOUT_S} s: {self.log()}")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        """The server's own log, for failure messages."""
        path = self.folder / "prometheus.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant query's result (series), raising on a query Prometheus refuses."""
        url = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 (loopback http)
                body = json.load(answer)
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{expr}: {error.read().decode(errors='replace')}") from None
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def wait_for(self, expr: str, scrapes: int = 3, timeout: float = 30) -> None:
        """Wait until `expr` has series, then `scrapes` more scrape intervals (rates need
        two samples in their window)."""
        deadline = time.monotonic() + timeout
        while not self.query(expr):
            if time.monotonic() > deadline:
                raise AssertionError(f"no series for {expr} after {timeout} s: {self.log()}")
            time.sleep(0.2)
        time.sleep(scrapes * SCRAPE_SECONDS)


def selector(name: str, pipeline: str) -> str:
    """The series `name` of `pipeline`, as dashboards and alerts select it."""
    return name + '{pipeline_name="' + pipeline + '"}'  # no doubled braces: Jinja's


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, expression) of every Prometheus query of every dashboard."""
    queries = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                if target.get("datasource", {}).get("type") == "prometheus":
                    queries.append((f"{path.name}: {panel['title']}", target["expr"]))
    return queries


def alert_queries() -> list[tuple[str, str]]:
    """(alert name, expression) of every alert rule."""
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return [(rule["alert"], rule["expr"]) for group in groups for rule in group["rules"]]


def measured(expr: str) -> str:
    """What a panel or alert measures, as an instant query: Grafana's macros expanded, an
    alert's threshold comparison dropped, and `absent_over_time` (which has series only
    when nothing arrives) asked the other way round."""
    for macro, value in GRAFANA_MACROS.items():
        expr = expr.replace(macro, value)
    expr = expr.replace("absent_over_time(", "present_over_time(")
    return THRESHOLD.sub("", expr)


def queries_without_series(prometheus: PrometheusServer) -> list[tuple[str, str]]:
    """Every dashboard and alert query that matches nothing in `prometheus`."""
    return [
        (where, expr)
        for where, expr in [*dashboard_queries(), *alert_queries()]
        if not prometheus.query(measured(expr))
    ]
