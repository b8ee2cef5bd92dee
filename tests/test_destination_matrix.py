"""Every engine writes to every server destination, end to end (slow: renders and runs each).

Layer 3 installs combinations with the local destination only (its README commands need no
server). Here every engine meets every destination that needs a server (S3, PostgreSQL):
the project is rendered with that pair, installed, and runs its own suite against the real
server its fixtures start. The first engine copier.yml offers runs the project's whole
suite (the destination's own tests: random SIGKILLs and reruns, injected transient and
terminal errors, hostile names, canary secrets; and every generic test but one duplicate,
WHOLE_SUITE_DUPLICATES); every other
engine runs the tests that prove the pair end to end: the sample's exact counts, reason
codes and rows per date (derived independently of any engine, with Python's csv module),
and a backfill of every daily partition with its per-partition counts and committed rows.
The local destination is covered for every engine by the parity test and layer 3.
"""

from __future__ import annotations

from pathlib import Path

import answer_space
import pytest
from installed_project import EnvironmentPool
from template_fixtures import render

pytestmark = pytest.mark.slow

LOCAL = "local"
ENGINES = answer_space.QUESTIONS["engine"].choices
WHOLE_SUITE_ENGINE = ENGINES[0]
# The end-to-end checks the other engines run: two runs of the CLI each (a Spark pair
# starts a JVM per run).
END_TO_END_TESTS = (
    "tests/test_sample_run.py::test_the_sample_run_reports_exact_counts_that_balance",
    "tests/test_partitions.py::test_a_backfill_runs_every_partition_and_keeps_late_arrivals",
)
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
PAIRS = [
    (engine, destination)
    for destination in answer_space.QUESTIONS["destination"].choices
    if destination != LOCAL
    for engine in ENGINES
]
# Rough serial seconds of a pair on two busy cores: only the start order depends on it
# (conftest.py). A whole suite against a server takes minutes; Spark starts a JVM per run.
WHOLE_SUITE_SECONDS = 600
END_TO_END_SECONDS = {"spark": 120}
OTHER_END_TO_END_SECONDS = 40


def pair_cost(engine: str) -> float:
    if engine == WHOLE_SUITE_ENGINE:
        return WHOLE_SUITE_SECONDS
    return END_TO_END_SECONDS.get(engine, OTHER_END_TO_END_SECONDS)


PAIR_PARAMS = [
    pytest.param(
        engine, destination, id=f"{engine}-{destination}", marks=pytest.mark.cost(pair_cost(engine))
    )
    for engine, destination in PAIRS
]


def test_layer_3_leaves_every_server_destination_to_this_matrix() -> None:
    installed = {c.get("destination") for c in answer_space.installed_combinations()}
    assert installed == {LOCAL}
    assert {destination for _, destination in PAIRS}, "no destination needs a server"


@pytest.fixture(scope="session")
def environments(tmp_path_factory: pytest.TempPathFactory) -> EnvironmentPool:
    """One environment per engine for this worker: a pair's `uv sync` into it only swaps the
    destination's packages and the project itself."""
    return EnvironmentPool(tmp_path_factory.mktemp("environments"))


@pytest.mark.parametrize(("engine", "destination"), PAIR_PARAMS)
def test_the_pair_runs_its_suite_against_the_real_server(
    template_repo: Path,
    tmp_path: Path,
    environments: EnvironmentPool,
    engine: str,
    destination: str,
) -> None:
    root = render(
        template_repo, tmp_path / "project", {"engine": engine, "destination": destination}
    )
    project = environments.install(root)
    if engine == WHOLE_SUITE_ENGINE:
        selection = [f"--deselect={test}" for test in WHOLE_SUITE_DUPLICATES]
    else:
        selection = list(END_TO_END_TESTS)
    result = project.uv_run("pytest", "-q", "-p", "no:cacheprovider", "-rs", *selection)
    # Everything selected ran against the server: a skip would hide a missing one.
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]
    if engine == WHOLE_SUITE_ENGINE:
        # A renamed duplicate must be noticed here, not silently run (or dropped) elsewhere.
        deselected = f"{len(WHOLE_SUITE_DUPLICATES)} deselected"
        assert deselected in result.stdout, result.stdout[-2000:]
    else:
        assert f"{len(END_TO_END_TESTS)} passed" in result.stdout, result.stdout[-2000:]
