"""Every engine writes to every server destination, end to end (slow: renders and runs each).

Layer 3 installs combinations with the local destination only (its README commands need no
server). Here every engine meets every destination that needs a server (S3, PostgreSQL):
the project is rendered with that pair, installed, and runs its own suite against the real
server its fixtures start. The first engine copier.yml offers runs the project's whole
suite (the destination's own tests: random SIGKILLs and reruns, injected transient and
terminal errors, hostile names, canary secrets; and every generic test); every other
engine runs the tests that prove the pair end to end: the sample's exact counts, reason
codes and rows per date (derived independently of any engine, with Python's csv module),
and a backfill of every daily partition with its per-partition counts and committed rows.
The local destination is covered for every engine by the parity test and layer 3.
"""

from __future__ import annotations

from pathlib import Path

import answer_space
import pytest
from installed_project import install
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
PAIRS = [
    (engine, destination)
    for destination in answer_space.QUESTIONS["destination"].choices
    if destination != LOCAL
    for engine in ENGINES
]


def test_layer_3_leaves_every_server_destination_to_this_matrix() -> None:
    installed = {c.get("destination") for c in answer_space.installed_combinations()}
    assert installed == {LOCAL}
    assert {destination for _, destination in PAIRS}, "no destination needs a server"


@pytest.mark.parametrize(("engine", "destination"), PAIRS, ids=[f"{e}-{d}" for e, d in PAIRS])
def test_the_pair_runs_its_suite_against_the_real_server(
    template_repo: Path, tmp_path: Path, engine: str, destination: str
) -> None:
    root = render(
        template_repo, tmp_path / "project", {"engine": engine, "destination": destination}
    )
    project = install(root)
    selection = () if engine == WHOLE_SUITE_ENGINE else END_TO_END_TESTS
    result = project.uv_run("pytest", "-q", "-p", "no:cacheprovider", "-rs", *selection)
    # Everything selected ran against the server: a skip would hide a missing one.
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]
    if selection:
        assert f"{len(selection)} passed" in result.stdout, result.stdout[-2000:]
