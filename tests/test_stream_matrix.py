"""Every stream source writes to every destination, end to end (slow: renders and runs each).

Each (stream source, destination) pair is rendered, installed into an environment shared per
engine, and runs its project's suite against the real broker and destination servers its
fixtures start: the loop's own tests, the end-to-end tests (exact delivery against a
reference run, poison to the dead letters, SIGTERM, doctor), the table upkeep and its
orchestrator's tests under the orchestrator's own runtime. Two parts that cost minutes and
do not need every pair run pairwise (`left_to_other_pairs`): the 20 SIGKILLs, for each
destination once and each stream source at least once, and the stream source's own tests
against its broker, once per stream source. The engines a streaming project may use and the
orchestrators alternate over the pairs, so each of them meets the stream sources and the
destinations.
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
# Tests that do not depend on the destination yet cost minutes run where they cover
# something new, pairwise, not in every pair: the 20 SIGKILLs of a consumer (the issue asks
# them per destination: each destination once, each stream source at least once), and the
# stream source's own tests against its broker (once per stream source).
KILL_TEST = "tests/test_stream_pipeline.py::test_kills_at_random_points_lose_and_duplicate_nothing"
KILLED_PAIRS = {("kafka", "local"), ("kinesis", "s3"), ("kafka", "postgres")}
STREAM_UNIT_DESTINATION = "local"  # where each stream source's own tests run
# Rough serial seconds on two busy cores: only the start order depends on it (conftest.py).
SUITE_SECONDS = {"local": 300, "s3": 240, "postgres": 200}


def left_to_other_pairs(stream: str, destination: str) -> list[str]:
    """pytest arguments leaving out what another pair of the matrix runs."""
    arguments = []
    if (stream, destination) not in KILLED_PAIRS:
        arguments += ["--deselect", KILL_TEST]
    if destination != STREAM_UNIT_DESTINATION:
        arguments += [f"--ignore=tests/test_{stream}_stream.py"]
    # The first pair also evaluates the dashboards' and alerts' queries in a real Prometheus.
    if (stream, destination) != COMBINATIONS[0][:2]:
        arguments += WITHOUT_PROMETHEUS
    return arguments


def test_the_matrix_covers_every_stream_source_destination_engine_and_orchestrator() -> None:
    pairs = {(s, d) for s, d, _, _ in COMBINATIONS}
    assert pairs == set(itertools.product(STREAMS, DESTINATIONS))
    assert {engine for _, _, engine, _ in COMBINATIONS} == set(STREAM_ENGINES)
    assert {orchestrator for *_, orchestrator in COMBINATIONS} == set(ORCHESTRATORS)
    assert set(STREAM_ENGINES) == {"polars", "pandas"}
    assert {d for _, d in KILLED_PAIRS} == set(DESTINATIONS)
    assert {s for s, _ in KILLED_PAIRS} == set(STREAMS)
    assert STREAM_UNIT_DESTINATION in DESTINATIONS


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
    left_out = left_to_other_pairs(stream, destination)
    # What is left out here must exist, or another pair would not run it either.
    assert (project.root / KILL_TEST.split("::")[0]).is_file()
    assert (project.root / f"tests/test_{stream}_stream.py").is_file()
    result = project.uv_run("pytest", "-q", "-p", "no:cacheprovider", "-rs", *left_out)
    assert " passed" in result.stdout, result.stdout[-3000:]
    # A skip would hide a missing broker or server.
    assert "skipped" not in result.stdout, result.stdout[-3000:]
    assert " failed" not in result.stdout and " error" not in result.stdout, result.stdout[-3000:]
