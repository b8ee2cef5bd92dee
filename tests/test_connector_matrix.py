"""Every engine reads from every server source and writes to every server destination, end
to end (slow: renders and runs each).

Layer 3 installs combinations with the local source and destination only (their README
commands need no server). Here the sources and destinations that need a server (S3,
PostgreSQL) meet each other and every engine: each project is rendered, installed into an
environment shared per engine, and runs its own tests against the real servers its
fixtures start.

- The first engine copier.yml offers runs the project's WHOLE suite for two crossed pairs
  (S3 -> PostgreSQL under Dagster, PostgreSQL -> S3 under Step Functions: layer 3 runs this
  engine under Airflow), so every server source's and destination's own
  tests run (random SIGKILLs and reruns, incremental reads, state at the destination,
  injected transient and terminal errors, hostile names, canary secrets) together with
  every generic test but one duplicate (WHOLE_SUITE_DUPLICATES).
- The other engines run END_TO_END_TESTS (the sample's exact counts, reason codes and rows
  per date, derived independently of any engine; a backfill of every daily partition; the
  by-key merge and state commit an incremental source relies on) plus, with a server
  source, that source's incremental test, over a covering of the remaining pairs: every
  engine meets every server source and every server destination, and every source x
  destination pair runs at least once.
"""

from __future__ import annotations

from pathlib import Path

import answer_space
import pytest
from installed_project import WITHOUT_PROMETHEUS, EnvironmentPool
from template_fixtures import render

pytestmark = pytest.mark.slow

LOCAL = "local"
ENGINES = answer_space.QUESTIONS["engine"].choices
SOURCES = answer_space.QUESTIONS["source"].choices
DESTINATIONS = answer_space.QUESTIONS["destination"].choices
WHOLE_SUITE_ENGINE = ENGINES[0]
# The whole suites' pairs, each under an orchestrator other than layer 3's project of that
# engine (the default, Airflow), so more adapters meet a server source and destination
# (and both of these run their tests in seconds; Airflow's take about a minute).
WHOLE_SUITE_PAIRS = {("s3", "postgres"): "dagster", ("postgres", "s3"): "step_functions"}
# (engine, source, destination) the other engines run end to end.
END_TO_END_TRIPLES = (
    ("pandas", "s3", "postgres"),
    ("pandas", "postgres", "s3"),
    ("spark", "s3", "s3"),
    ("spark", "postgres", "postgres"),
    ("dask", "s3", LOCAL),
    ("dask", "postgres", LOCAL),
    ("dask", LOCAL, "s3"),
    ("dask", LOCAL, "postgres"),
)
# The end-to-end checks every pair runs (a Spark pair starts a JVM per CLI run).
END_TO_END_TESTS = (
    "tests/test_sample_run.py::test_the_sample_run_reports_exact_counts_that_balance",
    "tests/test_partitions.py::test_a_backfill_runs_every_partition_and_keeps_late_arrivals",
    "tests/test_incremental_merge.py",
)
# A server source's incremental read: nothing twice, new and changed data exactly once.
SOURCE_TESTS = {
    "s3": (
        "tests/test_s3_source.py::test_a_second_run_reads_nothing_and_leaves_the_destination_unchanged",
        "tests/test_s3_source.py::test_new_objects_are_read_alone_and_a_changed_object_replaces_its_keys",
    ),
    "postgres": (
        "tests/test_postgres_source.py::test_a_second_run_reads_nothing_and_new_or_updated_rows_are_read_exactly_once",
    ),
}
# Generic tests the whole suite skips on a server because the destination's own tests assert
# all they do against that server. The generic kill test kills one run as it starts staging
# a 2-million-row load, then runs that load twice more (minutes against a server); the
# destination's kill test kills 20 runs at random points of its load, including right after
# staging starts, and asserts for each: the output and commit marker as they were (or as
# committed), no manifest from a run killed before its commit, a rerun that completes with
# no staging left, and the rerun's output equal to an unkilled run's. Layer 3 runs the
# generic test for the local destination on every engine.
WHOLE_SUITE_DUPLICATES = (
    "tests/test_kill.py::test_a_killed_run_leaves_the_committed_output_as_it_was_and_a_rerun_completes",
)
# What a generic test about reading local files says when the source reads none.
FILES_ONLY = "about reading local files"
# Rough serial seconds on two busy cores: only the start order depends on it (conftest.py).
WHOLE_SUITE_SECONDS = 700
END_TO_END_SECONDS = {"spark": 300}
OTHER_END_TO_END_SECONDS = 60

TRIPLES = [
    *((WHOLE_SUITE_ENGINE, source, destination) for source, destination in WHOLE_SUITE_PAIRS),
    *END_TO_END_TRIPLES,
]


def triple_cost(engine: str) -> float:
    if engine == WHOLE_SUITE_ENGINE:
        return WHOLE_SUITE_SECONDS
    return END_TO_END_SECONDS.get(engine, OTHER_END_TO_END_SECONDS)


TRIPLE_PARAMS = [
    pytest.param(
        engine,
        source,
        destination,
        id=f"{engine}-{source}-{destination}",
        marks=pytest.mark.cost(triple_cost(engine)),
    )
    for engine, source, destination in TRIPLES
]


def test_layer_3_leaves_every_server_source_and_destination_to_this_matrix() -> None:
    installed = answer_space.installed_combinations()
    assert {c.get("source") for c in installed} == {LOCAL}
    assert {c.get("destination") for c in installed} == {LOCAL}


def test_the_whole_suites_run_under_orchestrators_layer_3_runs_elsewhere() -> None:
    offered = answer_space.QUESTIONS["orchestrator"].choices
    layer_3 = {
        c["orchestrator"]
        for c in answer_space.installed_combinations()
        if c["engine"] == WHOLE_SUITE_ENGINE
    }
    assert set(WHOLE_SUITE_PAIRS.values()) <= set(offered) - layer_3


def test_the_matrix_covers_every_server_connector_with_every_engine_and_every_pair() -> None:
    servers = {"source": set(SOURCES) - {LOCAL}, "destination": set(DESTINATIONS) - {LOCAL}}
    met = {(engine, "source", source) for engine, source, _ in TRIPLES} | {
        (engine, "destination", destination) for engine, _, destination in TRIPLES
    }
    wanted = {
        (engine, kind, choice)
        for engine in ENGINES
        for kind, choices in servers.items()
        for choice in choices
    }
    assert wanted <= met, sorted(wanted - met)
    pairs = {(source, destination) for _, source, destination in TRIPLES}
    assert pairs == {(s, d) for s in SOURCES for d in DESTINATIONS} - {(LOCAL, LOCAL)}
    assert set(SOURCE_TESTS) == servers["source"]


@pytest.fixture(scope="session")
def environments(tmp_path_factory: pytest.TempPathFactory) -> EnvironmentPool:
    """One environment per engine for this worker: a project's `uv sync` into it only swaps
    the source's and destination's packages and the project itself."""
    return EnvironmentPool(tmp_path_factory.mktemp("environments"))


@pytest.mark.parametrize(("engine", "source", "destination"), TRIPLE_PARAMS)
def test_the_combination_runs_its_tests_against_the_real_servers(
    template_repo: Path,
    tmp_path: Path,
    environments: EnvironmentPool,
    engine: str,
    source: str,
    destination: str,
) -> None:
    answers = {"engine": engine, "source": source, "destination": destination}
    whole_suite = engine == WHOLE_SUITE_ENGINE
    if whole_suite:
        answers["orchestrator"] = WHOLE_SUITE_PAIRS[(source, destination)]
    project = environments.install(render(template_repo, tmp_path / "project", answers))
    if whole_suite:
        selection = [
            *(f"--deselect={test}" for test in WHOLE_SUITE_DUPLICATES),
            *WITHOUT_PROMETHEUS,
        ]
    else:
        selection = [*END_TO_END_TESTS, *SOURCE_TESTS.get(source, ())]
    result = project.uv_run("pytest", "-q", "-p", "no:cacheprovider", "-rs", *selection)
    assert " passed" in result.stdout, result.stdout[-2000:]
    # A skip would hide a missing server. The only skips allowed are the generic tests about
    # parsing local files, for a source that reads none (they name its own equivalents).
    skipped = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert all(FILES_ONLY in line for line in skipped), skipped
    if whole_suite:
        # A renamed duplicate must be noticed here, not silently run (or dropped) elsewhere.
        # (plus the real-Prometheus test, which layer 3 runs)
        deselected = f"{len(WHOLE_SUITE_DUPLICATES) + 1} deselected"
        assert deselected in result.stdout, result.stdout[-2000:]
    else:
        assert "skipped" not in result.stdout, result.stdout[-2000:]
