"""Every stream source writes to every destination, end to end (slow: renders and runs each).

Each (stream source, destination) pair is rendered, installed into an environment shared per
engine, and runs its project's WHOLE suite against the real broker and destination servers
its fixtures start: the loop's own tests, the stream source's own tests, and the end-to-end
tests (exact delivery against a reference run, poison to the dead letters, 20 SIGKILLs,
SIGTERM, doctor), the table upkeep and its orchestrator's tests under the orchestrator's own
runtime. The engines a streaming project may use and the orchestrators alternate over the
pairs, so each of them meets the stream sources and the destinations.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import answer_space
import pytest
from installed_project import WITHOUT_PROMETHEUS, EnvironmentPool
from template_fixtures import render

pytestmark = pytest.mark.slow

STREAMS = answer_space.QUESTIONS["stream_source"].choices
DESTINATIONS = answer_space.QUESTIONS["destination"].choices
STREAM_ENGINES = tuple(
    engine
    for engine in answer_space.QUESTIONS["engine"].choices
    if answer_space.is_supported({"pipeline_type": "streaming", "engine": engine})
)
ORCHESTRATORS = answer_space.QUESTIONS["orchestrator"].choices
# (stream source, destination, engine, orchestrator): every pair of stream source and
# destination, the engines and the orchestrators (each runs the table upkeep) taking turns.
COMBINATIONS = tuple(
    (stream, destination, engine, orchestrator)
    for (stream, destination), engine, orchestrator in zip(
        itertools.product(STREAMS, DESTINATIONS),
        itertools.cycle(STREAM_ENGINES),
        itertools.cycle(ORCHESTRATORS),
        strict=False,
    )
)
# Rough serial seconds on two busy cores: only the start order depends on it (conftest.py).
SUITE_SECONDS = {"local": 300, "s3": 300, "postgres": 240}


def test_the_matrix_covers_every_stream_source_destination_engine_and_orchestrator() -> None:
    pairs = {(s, d) for s, d, _, _ in COMBINATIONS}
    assert pairs == set(itertools.product(STREAMS, DESTINATIONS))
    assert {engine for _, _, engine, _ in COMBINATIONS} == set(STREAM_ENGINES)
    assert {orchestrator for *_, orchestrator in COMBINATIONS} == set(ORCHESTRATORS)
    assert set(STREAM_ENGINES) == {"polars", "pandas"}


@pytest.fixture(scope="session")
def environments(tmp_path_factory: pytest.TempPathFactory) -> EnvironmentPool:
    """One environment per engine for this worker: a project's `uv sync` into it only swaps
    the stream source's and destination's packages and the project itself."""
    return EnvironmentPool(tmp_path_factory.mktemp("stream-environments"))


@pytest.mark.parametrize(
    ("stream", "destination", "engine", "orchestrator"),
    [
        pytest.param(*c, id="-".join(c), marks=pytest.mark.cost(SUITE_SECONDS[c[1]]))
        for c in COMBINATIONS
    ],
)
def test_the_streaming_project_runs_its_whole_suite_against_real_servers(
    template_repo: Path,
    tmp_path: Path,
    environments: EnvironmentPool,
    stream: str,
    destination: str,
    engine: str,
    orchestrator: str,
) -> None:
    answers = {
        "pipeline_type": "streaming",
        "stream_source": stream,
        "destination": destination,
        "engine": engine,
        "orchestrator": orchestrator,
    }
    project = environments.install(render(template_repo, tmp_path / "project", answers))
    lint = project.uv_run("ruff", "check", ".")
    assert lint.returncode == 0, lint.stdout[-2000:]
    formatted = project.uv_run("ruff", "format", "--check", ".")
    assert formatted.returncode == 0, formatted.stdout[-2000:]
    typed = project.uv_run("mypy", "src", "tests")
    assert typed.returncode == 0, typed.stdout[-2000:]
    # The first combination also evaluates the dashboards' and alerts' queries in Prometheus.
    first = (stream, destination, engine, orchestrator) == COMBINATIONS[0]
    selection = () if first else WITHOUT_PROMETHEUS
    result = project.uv_run("pytest", "-q", "-p", "no:cacheprovider", "-rs", *selection)
    assert " passed" in result.stdout, result.stdout[-3000:]
    # A skip would hide a missing broker or server.
    assert "skipped" not in result.stdout, result.stdout[-3000:]
    assert " failed" not in result.stdout and " error" not in result.stdout, result.stdout[-3000:]
