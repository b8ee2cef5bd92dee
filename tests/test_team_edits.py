"""A team edits its business logic as the README invites, and the template's tests in the
rendered project still pass, unchanged (layer 3, slow).

The rendered project's template-owned tests derive what the bundled sample must produce from
the team's current contract, transforms and rules (tests/sample_expectations.py in the
project). Here a project is rendered per engine, checked to derive exactly the numbers
data/sample/README.md documents, then edited by team_edits.py (numbers that move: more rows
filtered, more quarantined, new warnings) and its whole toolchain and suite must pass.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from installed_project import WITHOUT_PROMETHEUS, RenderedProject, install
from team_edits import TEAM_TEST_FILE, apply_team_edits
from template_fixtures import render

pytestmark = pytest.mark.slow

# The default project, and pandas: the other engine a laptop runs without a JVM or cluster.
ENGINES = ("polars", "pandas")
# Rough serial seconds (install, checks, the whole suite twice over) on two busy cores: it
# only decides which starts first (conftest.py).
SUITE_SECONDS = 600

# data/sample/README.md: the whole sample in one run, and each file in a run of its own.
DOCUMENTED_COUNTS = {
    "read": 3000,
    "written": 2713,
    "superseded": 34,
    "quarantined": 229,
    "filtered": 24,
}
DOCUMENTED_WRITTEN_PER_DATE = {
    "2026-09-29": 68,
    "2026-09-30": 128,
    "2026-10-01": 896,
    "2026-10-02": 839,
    "2026-10-03": 782,
}
DOCUMENTED_WRITTEN_PER_FILE = {"2026-10-01": 908, "2026-10-02": 912, "2026-10-03": 911}
SAMPLE_DAYS = tuple(DOCUMENTED_WRITTEN_PER_FILE)

# Prints the project's derived expectations as one JSON object.
DERIVED_EXPECTATIONS = """
import dataclasses, json
from tests.sample_expectations import SAMPLE_DATES, expected_outcome
print(json.dumps({
    "all": dataclasses.asdict(expected_outcome()),
    **{day: dataclasses.asdict(expected_outcome(day)) for day in SAMPLE_DATES},
}))
"""

# The project's toolchain as its README and CI run it, then the fast loop it documents.
PROJECT_CHECKS = {
    "ruff-check": ("ruff", "check"),
    "ruff-format": ("ruff", "format", "--check"),
    "mypy": ("mypy",),
}


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(
            engine,
            id=f"engine:{engine}",
            marks=[
                pytest.mark.xdist_group(f"team-edits-{engine}"),
                pytest.mark.cost(SUITE_SECONDS),
            ],
        )
        for engine in ENGINES
    ],
)
def rendered(
    request: pytest.FixtureRequest, template_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> RenderedProject:
    """The project of one engine, rendered and installed, before any team edit."""
    root = tmp_path_factory.mktemp("team-edits") / "project"
    return install(render(template_repo, root, {"engine": request.param}))


@pytest.fixture(scope="module")
def edited(rendered: RenderedProject) -> RenderedProject:
    """The same project after the team's edits, reinstalled (the edits add a dependency).
    Tests on `rendered` alone run before the first that asks for this (file order)."""
    apply_team_edits(rendered.root)
    return install(rendered.root)


def derived_expectations(project: RenderedProject) -> dict[str, Any]:
    """What the project's tests expect of the sample, in one run and per file."""
    result = project.uv_run("python", "-c", DERIVED_EXPECTATIONS)
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def test_untouched_projects_derive_the_counts_the_sample_readme_documents(
    rendered: RenderedProject,
) -> None:
    derived = derived_expectations(rendered)

    assert derived["all"]["counts"] == DOCUMENTED_COUNTS
    assert derived["all"]["written_per_date"] == DOCUMENTED_WRITTEN_PER_DATE
    assert derived["all"]["failures"] == {}
    violations = derived["all"]["violations"]
    assert violations["CURRENCY_MISSING"] + violations["CURRENCY_UNSUPPORTED"] == 49
    assert violations["COUNTRY_MISSING"] == 34
    for day in SAMPLE_DAYS:
        assert derived[day]["counts"]["read"] == 1000
        assert derived[day]["counts"]["written"] == DOCUMENTED_WRITTEN_PER_FILE[day]


def test_the_team_edits_move_the_samples_business_counts(edited: RenderedProject) -> None:
    # Otherwise the suite below would pass on hard-coded counts too, proving nothing.
    derived = derived_expectations(edited)["all"]

    assert derived["counts"]["filtered"] > DOCUMENTED_COUNTS["filtered"]  # cancelled orders
    assert derived["counts"]["written"] < DOCUMENTED_COUNTS["written"]
    assert derived["written_per_date"] != DOCUMENTED_WRITTEN_PER_DATE
    assert derived["violations"]["STATUS_MISSING"] > 0  # quarantined: no status
    assert derived["violations"]["LARGE_ORDER_REVIEW"] > 0  # warned, still written


@pytest.mark.parametrize("command", PROJECT_CHECKS.values(), ids=PROJECT_CHECKS.keys())
def test_the_edited_project_passes_its_own_check(
    edited: RenderedProject, command: tuple[str, ...]
) -> None:
    edited.uv_run(*command)


def test_the_fast_loop_runs_the_teams_tests_and_no_end_to_end_run(
    edited: RenderedProject,
) -> None:
    result = edited.uv_run("pytest", "-m", "not slow", "-p", "no:cacheprovider", "-v")

    ran = {line.split("::")[0] for line in result.stdout.splitlines() if " PASSED" in line}
    assert {TEAM_TEST_FILE, "tests/test_transforms.py", "tests/test_rules.py"} <= ran
    assert "tests/test_sample_run.py" not in ran


def test_the_whole_suite_passes_unchanged_after_the_team_edits(edited: RenderedProject) -> None:
    edited.uv_run("pytest", "-q", "-p", "no:cacheprovider", *WITHOUT_PROMETHEUS)
