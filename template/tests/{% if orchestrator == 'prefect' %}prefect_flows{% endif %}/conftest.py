"""A temporary local Prefect API for the flow tests, and the pipeline's environment.

Prefect reads its settings when it is first imported, so PREFECT_HOME and the analytics
switch are set here, before the test modules import the flows. The API server
(`prefect_test_harness`: a subprocess with a throwaway SQLite database) starts once per
session: it takes several seconds.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import Workspace

PREFECT_HOME = Path(tempfile.mkdtemp(prefix="prefect-home-"))
atexit.register(shutil.rmtree, PREFECT_HOME, ignore_errors=True)
os.environ["PREFECT_HOME"] = str(PREFECT_HOME)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
# A developer's own Prefect profile or API must never receive the test runs.
os.environ.pop("PREFECT_API_URL", None)
os.environ.pop("PREFECT_API_KEY", None)
os.environ.pop("PREFECT_PROFILE", None)


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[str]:
    """The URL of a temporary Prefect API that flow runs in this session report to."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield str(PREFECT_API_URL.value())


@pytest.fixture
def pipeline_env(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """Point this process's PIPELINE_* settings at the workspace (flows read them at run time).

    OTEL_* variables are removed, so no test run exports telemetry over the network.
    """
    for key in list(os.environ):
        if key.startswith(("PIPELINE_", "OTEL_")):
            monkeypatch.delenv(key)
    for key, value in workspace.env().items():
        if key.startswith("PIPELINE_"):
            monkeypatch.setenv(key, value)
    return workspace
