"""Every engine writes to every server destination, end to end (slow: renders and runs each).

Layer 3 installs one combination per offered value, so each server destination runs its
own full suite with one engine only. Here every other engine meets every destination that
needs a server (S3, PostgreSQL): the project is rendered with that pair, installed, and runs
the tests of its own suite that prove the pair end to end against the real server its
fixtures start: the sample's exact counts, reason codes and rows per date (counts derived
independently of any engine, with Python's csv module) and a backfill of every daily
partition with its per-partition counts and committed rows. The local destination is
covered for every engine by the parity test and layer 3.
"""

from __future__ import annotations

from pathlib import Path

import answer_space
import pytest
from installed_project import install
from template_fixtures import render

pytestmark = pytest.mark.slow

LOCAL = "local"
# The end-to-end checks of a rendered project's own suite that this matrix runs: two runs of
# the CLI each (a Spark pair starts a JVM per run).
END_TO_END_TESTS = (
    "tests/test_sample_run.py::test_the_sample_run_reports_exact_counts_that_balance",
    "tests/test_partitions.py::test_a_backfill_runs_every_partition_and_keeps_late_arrivals",
)


def server_destination_pairs() -> list[tuple[str, str]]:
    """(engine, destination) for every engine and every destination that needs a server,
    minus the pairs layer 3 already runs with the project's whole suite."""
    installed = {
        (combination.get("engine"), combination.get("destination"))
        for combination in answer_space.installed_combinations()
    }
    return [
        (engine, destination)
        for engine in answer_space.QUESTIONS["engine"].choices
        for destination in answer_space.QUESTIONS["destination"].choices
        if destination != LOCAL and (engine, destination) not in installed
    ]


PAIRS = server_destination_pairs()


def test_every_server_destination_meets_every_engine_here_or_in_layer_3() -> None:
    destinations = set(answer_space.QUESTIONS["destination"].choices) - {LOCAL}
    engines = answer_space.QUESTIONS["engine"].choices
    installed = {
        (combination.get("engine"), combination.get("destination"))
        for combination in answer_space.installed_combinations()
    }
    covered = set(PAIRS) | installed
    assert {(e, d) for e in engines for d in destinations} <= covered


@pytest.mark.parametrize(("engine", "destination"), PAIRS, ids=[f"{e}-{d}" for e, d in PAIRS])
def test_the_pair_runs_the_sample_and_partition_reruns_against_the_real_server(
    template_repo: Path, tmp_path: Path, engine: str, destination: str
) -> None:
    root = render(
        template_repo, tmp_path / "project", {"engine": engine, "destination": destination}
    )
    project = install(root)
    result = project.uv_run("pytest", "-q", "-p", "no:cacheprovider", *END_TO_END_TESTS)
    # Both ran, against the server (a skipped test would hide a missing one).
    assert f"{len(END_TO_END_TESTS)} passed" in result.stdout, result.stdout[-2000:]
