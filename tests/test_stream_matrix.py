"""Every stream source writes to every destination, end to end (slow: renders and runs each).

Each (stream source, destination) pair is rendered, installed into an environment shared per
engine, and runs its project's WHOLE suite against the real broker and destination servers
its fixtures start: the loop's own tests, the stream source's own tests, and the end-to-end
tests (exact delivery against a reference run, poison to the dead letters, 20 SIGKILLs,
SIGTERM, doctor). The engines a streaming project may use alternate over the pairs, so each
of them meets the stream sources and the destinations.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import answer_space
import pytest
from installed_project import EnvironmentPool
from template_fixtures import render

pytestmark = pytest.mark.slow

STREAMS = answer_space.QUESTIONS["stream_source"].choices
DESTINATIONS = answer_space.QUESTIONS["destination"].choices
STREAM_ENGINES = tuple(
    engine
    for engine in answer_space.QUESTIONS["engine"].choices
    if answer_space.is_supported({"pipeline_type": "streaming", "engine": engine})
)
# (stream source, destination, engine): every pair, the engines taking turns.
TRIPLES = tuple(
    (stream, destination, engine)
    for (stream, destination), engine in zip(
        itertools.product(STREAMS, DESTINATIONS), itertools.cycle(STREAM_ENGINES), strict=False
    )
)
# Rough serial seconds on two busy cores: only the start order depends on it (conftest.py).
SUITE_SECONDS = {"local": 250, "s3": 230, "postgres": 160}


def test_the_matrix_covers_every_stream_source_with_every_destination_and_engine() -> None:
    assert {(s, d) for s, d, _ in TRIPLES} == set(itertools.product(STREAMS, DESTINATIONS))
    assert {engine for _, _, engine in TRIPLES} == set(STREAM_ENGINES)
    assert set(STREAM_ENGINES) == {"polars", "pandas"}


@pytest.fixture(scope="session")
def environments(tmp_path_factory: pytest.TempPathFactory) -> EnvironmentPool:
    """One environment per engine for this worker: a project's `uv sync` into it only swaps
    the stream source's and destination's packages and the project itself."""
    return EnvironmentPool(tmp_path_factory.mktemp("stream-environments"))


@pytest.mark.parametrize(
    ("stream", "destination", "engine"),
    [
        pytest.param(s, d, e, id=f"{s}-{d}-{e}", marks=pytest.mark.cost(SUITE_SECONDS[d]))
        for s, d, e in TRIPLES
    ],
)
def test_the_streaming_project_runs_its_whole_suite_against_real_servers(
    template_repo: Path,
    tmp_path: Path,
    environments: EnvironmentPool,
    stream: str,
    destination: str,
    engine: str,
) -> None:
    answers = {
        "pipeline_type": "streaming",
        "stream_source": stream,
        "destination": destination,
        "engine": engine,
    }
    project = environments.install(render(template_repo, tmp_path / "project", answers))
    lint = project.uv_run("ruff", "check", ".")
    assert lint.returncode == 0, lint.stdout[-2000:]
    formatted = project.uv_run("ruff", "format", "--check", ".")
    assert formatted.returncode == 0, formatted.stdout[-2000:]
    typed = project.uv_run("mypy", "src", "tests")
    assert typed.returncode == 0, typed.stdout[-2000:]
    result = project.uv_run("pytest", "-q", "-p", "no:cacheprovider", "-rs")
    assert " passed" in result.stdout, result.stdout[-3000:]
    # A skip would hide a missing broker or server.
    assert "skipped" not in result.stdout, result.stdout[-3000:]
    assert " failed" not in result.stdout and " error" not in result.stdout, result.stdout[-3000:]
