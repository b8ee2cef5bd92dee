"""Rendered projects install, lint, type-check, pass their own tests and run (layer 3, slow).

Each combination from answer_space.installed_combinations() is rendered once per module
and installed with the project's own `uv sync` into its own .venv (installed_project.py);
the checks then run the commands the generated README documents, in that project, exactly
as a user would. Only the first run downloads anything: uv's cache is the caller's. The
checks and the whole suite of the default engine's and pandas' projects run after a team's
day-two edits (`checked`): the template's tests must pass on the team's code too.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import answer_space
import pytest
from backstage_validator import validate_entities
from extension_modules import load_extension
from import_names import importable_names, site_packages
from installed_project import WITHOUT_PROMETHEUS, RenderedProject, install, tail
from team_edits import TEAM_TEST_FILE, apply_team_edits
from template_fixtures import render

pytestmark = pytest.mark.slow

COMBINATIONS = answer_space.installed_combinations()
COMBINATION_IDS = [answer_space.combination_id(c) for c in COMBINATIONS]
# Rough serial seconds of one combination (install, checks, its own suite) on two busy cores:
# it only decides which starts first (conftest.py). Spark's suite starts a JVM per CLI run.
SUITE_SECONDS = {"spark": 900, "polars": 400, "pandas": 400}
OTHER_SUITE_SECONDS = 300
# Each combination's tests on one worker, which installs it once.
COMBINATION_PARAMS = [
    pytest.param(
        combination,
        id=combination_id,
        marks=[
            pytest.mark.xdist_group(f"layer3-{combination_id}"),
            pytest.mark.cost(SUITE_SECONDS.get(combination["engine"], OTHER_SUITE_SECONDS)),
        ],
    )
    for combination, combination_id in zip(COMBINATIONS, COMBINATION_IDS, strict=True)
]

# The generated project's toolchain, as its README and CI run it.
PROJECT_CHECKS = {
    "ruff-check": ("ruff", "check"),
    "ruff-format": ("ruff", "format", "--check"),
    "mypy": ("mypy",),
    "pytest": ("pytest", "-q", "-p", "no:cacheprovider"),
}


@pytest.fixture(scope="module", params=COMBINATION_PARAMS)
def rendered_root(
    request: pytest.FixtureRequest,
    template_repo: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """One combination rendered, not yet installed, shared by this module."""
    combination: dict[str, str] = request.param
    return render(template_repo, tmp_path_factory.mktemp("project") / "project", combination)


@pytest.fixture(scope="module")
def project(rendered_root: Path) -> RenderedProject:
    """The rendered project installed with its own `uv sync`, shared by this module."""
    return install(rendered_root)


# A team edits its business logic as the README invites, and the template's tests in the
# project must still pass, unchanged: they derive what the bundled sample must produce from
# the team's current contract, transforms and rules (tests/sample_expectations.py, ADR 0009).
# The projects of these engines (the default, and pandas: the other engine a laptop runs
# without a JVM or cluster) are checked to derive exactly what data/sample/README.md
# documents, then edited by team_edits.py (more rows filtered, more quarantined, a new
# warning), and their checks and whole suite run on the edited project.
TEAM_EDIT_ENGINES = ("polars", "pandas")
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
# Prints the project's derived expectations as one JSON object.
DERIVED_EXPECTATIONS = """
import dataclasses, json
from tests.sample_expectations import SAMPLE_DATES, expected_outcome
print(json.dumps({
    "all": dataclasses.asdict(expected_outcome()),
    **{day: dataclasses.asdict(expected_outcome(day)) for day in SAMPLE_DATES},
}))
"""


def derived_expectations(project: RenderedProject) -> dict[str, Any]:
    """What the project's tests expect of the sample, in one run and per file."""
    parsed: dict[str, Any] = json.loads(project.uv_run("python", "-c", DERIVED_EXPECTATIONS).stdout)
    return parsed


def assert_the_sample_readmes_counts(project: RenderedProject) -> None:
    """The untouched project derives the counts data/sample/README.md documents."""
    derived = derived_expectations(project)
    assert derived["all"]["counts"] == DOCUMENTED_COUNTS
    assert derived["all"]["written_per_date"] == DOCUMENTED_WRITTEN_PER_DATE
    assert derived["all"]["failures"] == {}
    violations = derived["all"]["violations"]
    assert violations["CURRENCY_MISSING"] + violations["CURRENCY_UNSUPPORTED"] == 49
    assert violations["COUNTRY_MISSING"] == 34
    for day, written in DOCUMENTED_WRITTEN_PER_FILE.items():
        assert derived[day]["counts"]["read"] == 1000
        assert derived[day]["counts"]["written"] == written


def assert_the_edits_move_the_business_counts(edited: RenderedProject) -> None:
    """Otherwise the suite would pass on hard-coded counts too, proving nothing."""
    derived = derived_expectations(edited)["all"]
    assert derived["counts"]["filtered"] > DOCUMENTED_COUNTS["filtered"]  # cancelled orders
    assert derived["counts"]["written"] < DOCUMENTED_COUNTS["written"]
    assert derived["written_per_date"] != DOCUMENTED_WRITTEN_PER_DATE
    assert derived["violations"]["STATUS_MISSING"] > 0  # quarantined: no status
    assert derived["violations"]["LARGE_ORDER_REVIEW"] > 0  # warned, still written


@pytest.fixture(scope="module")
def checked(project: RenderedProject) -> RenderedProject:
    """The project the checks and the whole suite run on: for TEAM_EDIT_ENGINES, after the
    team's edits (reinstalled: they add a dependency); the others as rendered."""
    if project.answers["engine"] not in TEAM_EDIT_ENGINES:
        return project
    assert_the_sample_readmes_counts(project)
    apply_team_edits(project.root)
    edited = install(project.root)
    assert_the_edits_move_the_business_counts(edited)
    return edited


def test_uv_sync_installs_into_the_projects_own_virtual_environment(
    project: RenderedProject,
) -> None:
    venv = project.root / ".venv"
    assert (venv / "pyvenv.cfg").is_file()
    result = project.uv_run("python", "-c", "import sys; print(sys.prefix)")
    assert Path(result.stdout.strip()).resolve() == venv.resolve()


def test_package_name_check_refuses_every_module_the_environment_can_import(
    project: RenderedProject,
) -> None:
    # extensions/dependencies/import_names.txt is generated: this fails when a dependency
    # change brings a module the list lacks (regenerate it: the file's header says how).
    answers = load_extension("answers")
    names = importable_names(site_packages(project.root / ".venv"))
    names.discard(str(project.answers["package_name"]))
    assert sorted(names - answers.RESERVED_PACKAGE_NAMES - set(sys.stdlib_module_names)) == []


# Tests of the project that no engine changes (they read what a run left: manifests and the
# quarantine file), run by the default engine's project (and the connector matrix's), not
# again by every other engine's.
ENGINE_NEUTRAL_TESTS = ("tests/test_runs_cli.py",)
DEFAULT_ENGINE = answer_space.QUESTIONS["engine"].choices[0]


@pytest.mark.parametrize("command", PROJECT_CHECKS.values(), ids=PROJECT_CHECKS.keys())
def test_project_passes_its_own_check(checked: RenderedProject, command: tuple[str, ...]) -> None:
    if command[0] == "pytest" and checked.answers["engine"] != DEFAULT_ENGINE:
        command = (*command, *(f"--deselect={test}" for test in ENGINE_NEUTRAL_TESTS))
    default = answer_space.default_combination()
    if command[0] == "pytest" and any(checked.answers.get(k) != v for k, v in default.items()):
        command = (*command, *WITHOUT_PROMETHEUS)
    checked.uv_run(*command)


def test_the_fast_loop_runs_the_teams_tests_and_no_end_to_end_run(
    checked: RenderedProject,
) -> None:
    result = checked.uv_run("pytest", "-m", "not slow", "-p", "no:cacheprovider", "-v")

    ran = {line.split("::")[0] for line in result.stdout.splitlines() if " PASSED" in line}
    assert {"tests/test_transforms.py", "tests/test_rules.py"} <= ran
    if checked.answers["engine"] in TEAM_EDIT_ENGINES:
        assert TEAM_TEST_FILE in ran
    assert "tests/test_sample_run.py" not in ran


def run_json(project: RenderedProject, *command: str) -> dict[str, Any]:
    """Run a `run --json` command in the project and return its one JSON object."""
    result = project.uv_run(*command)
    try:
        payload: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"`{' '.join(command)}` did not print one JSON object:\n{tail(result.stdout)}")
    return payload


def assert_counts_conserved(payload: dict[str, Any]) -> None:
    """A successful run whose counts satisfy
    read = written + superseded + quarantined + filtered."""
    assert payload["status"] == "succeeded", payload
    counts = payload["counts"]
    assert counts["read"] == (
        counts["written"] + counts["superseded"] + counts["quarantined"] + counts["filtered"]
    )
    assert counts["quarantined"] > 0, "the bundled sample must exercise the quarantine"
    assert counts["written"] > 0


def test_readme_command_runs_the_sample_and_conserves_every_row(
    project: RenderedProject,
) -> None:
    readme = (project.root / "README.md").read_text(encoding="utf-8")
    # The README's form installs the runtime alone (test_lean_install.py); this project has
    # the dev group too, which changes nothing a run does.
    assert "uv run --no-dev python -m src.cli run --json" in readme
    assert_counts_conserved(run_json(project, "python", "-m", "src.cli", "run", "--json"))


def test_console_script_named_after_the_slug_runs_the_pipeline(
    project: RenderedProject,
) -> None:
    slug = project.answers["project_slug"]
    readme = (project.root / "README.md").read_text(encoding="utf-8")
    assert f"uv run --no-dev {slug} run" in readme
    assert_counts_conserved(run_json(project, slug, "run", "--json"))


def test_catalog_info_is_accepted_by_backstages_validators(rendered_root: Path) -> None:
    code, output = validate_entities([rendered_root / "catalog-info.yaml"])
    assert code == 0, output
