"""Running the pipeline installs only what it needs (issue 14, "lean install").

`[project].dependencies` of a rendered project is what `python -m src.cli run` needs; the
orchestrator's packages are the dependency group `orchestrator`, which `dev` includes. The
README's first command, `uv run --no-dev ...`, and the default image target install neither
group; the `orchestrator` image target adds the group where the orchestrator runs its pods in
an image of the project. Rendering checks are fast; the install is slow (one `uv run` per
orchestrator into a fresh .venv, from the shared uv cache).
"""

from __future__ import annotations

import json
import re
import runpy
import tomllib
from pathlib import Path
from typing import Any

import answer_space
import pytest
import yaml
from installed_project import tail, uninstalled
from template_fixtures import render

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
ORCHESTRATORS = [str(choice) for choice in answer_space.QUESTIONS["orchestrator"].choices]
# The orchestrators that run their pods in an image of this project (Dagster's code location
# and runs, Prefect's flow runs); Airflow's pods and Step Functions' tasks run the pipeline
# image's own entry point.
IMAGE_ORCHESTRATORS = {"dagster", "prefect"}
# What the README's first command must never install: the dev tools.
DEV_TOOLS = {"pytest", "mypy", "ruff"}
README_RUN = ("uv", "run", "--no-dev", "python", "-m", "src.cli", "run", "--json")
# A requirement string's distribution name: what comes before extras, versions or markers.
REQUIREMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@pytest.fixture(scope="module", params=ORCHESTRATORS, ids=lambda name: f"orchestrator:{name}")
def rendered(
    request: pytest.FixtureRequest, template_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The default project with one orchestrator, rendered, nothing installed."""
    destination = tmp_path_factory.mktemp("lean") / "project"
    return render(template_repo, destination, {"orchestrator": request.param})


def orchestrator_of(project: Path) -> str:
    """The orchestrator answer the project was rendered with."""
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    return str(answers["orchestrator"])


def pyproject(project: Path) -> dict[str, Any]:
    """The rendered project's pyproject.toml."""
    return tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))


def canonical(name: str) -> str:
    """A distribution name as PEP 503 compares them: `Types_PyYAML` is `types-pyyaml`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def names(requirements: list[Any]) -> set[str]:
    """The distribution names of a list of requirement strings (include-group tables skipped)."""
    found = (REQUIREMENT_NAME.match(entry) for entry in requirements if isinstance(entry, str))
    return {canonical(match.group()) for match in found if match}


def dockerfile_stages(text: str) -> list[tuple[str, list[str]]]:
    """The Dockerfile's stages in order, as (name, instructions): continuation lines joined,
    comments and blank lines dropped."""
    logical = re.sub(r"\\\n\s*", " ", text)
    stages: list[tuple[str, list[str]]] = []
    for line in logical.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("FROM "):
            stages.append((line.split()[-1], []))
        elif stages:
            stages[-1][1].append(line)
    return stages


def uv_syncs(instructions: list[str]) -> list[str]:
    """The `uv sync` commands among a stage's instructions."""
    return [part for line in instructions for part in re.findall(r"uv sync[^;&|]*", line)]


def venv_source(instructions: list[str]) -> str:
    """The stage a target copies its /app/.venv from."""
    sources = [
        line.split()[1].removeprefix("--from=")
        for line in instructions
        if line.startswith("COPY --from=") and line.endswith("/app/.venv /app/.venv")
    ]
    assert len(sources) == 1, instructions
    return sources[0]


def test_orchestrator_packages_are_a_dependency_group_the_dev_group_includes(
    rendered: Path,
) -> None:
    project = pyproject(rendered)
    groups = project["dependency-groups"]
    runtime = names(project["project"]["dependencies"])
    orchestrator = names(groups["orchestrator"])
    assert runtime & orchestrator == set()
    assert runtime & DEV_TOOLS == set()
    assert {"include-group": "orchestrator"} in groups["dev"]
    assert names(groups["dev"]) >= DEV_TOOLS
    # Only Step Functions imports nothing: it starts the image and reads no Python.
    assert bool(orchestrator) == (orchestrator_of(rendered) != "step_functions")


def test_default_image_target_installs_no_dependency_group(rendered: Path) -> None:
    stages = dockerfile_stages((rendered / "Dockerfile").read_text(encoding="utf-8"))
    default_name, default_instructions = stages[-1]
    assert default_name == "runtime"
    source = dict(stages)[venv_source(default_instructions)]
    syncs = uv_syncs(source)
    assert syncs, "the runtime's environment is installed with uv sync"
    for sync in syncs:
        assert "--no-dev" in sync.split() and "--group" not in sync, sync


def test_orchestrator_target_adds_the_group_where_the_orchestrator_runs_the_image(
    rendered: Path,
) -> None:
    orchestrator = orchestrator_of(rendered)
    stages = dict(dockerfile_stages((rendered / "Dockerfile").read_text(encoding="utf-8")))
    assert ("orchestrator" in stages) == (orchestrator in IMAGE_ORCHESTRATORS)
    if orchestrator not in IMAGE_ORCHESTRATORS:
        return
    target = stages["orchestrator"]
    syncs = uv_syncs(stages[venv_source(target)])
    assert any("--group orchestrator" in sync for sync in syncs), syncs
    if orchestrator == "prefect":
        # The flow runs load their code from the deployments' entrypoints, in the image.
        deployments = yaml.safe_load((rendered / "prefect.yaml").read_text(encoding="utf-8"))
        folders = {entry["entrypoint"].split("/")[0] for entry in deployments["deployments"]}
        copied = {line.split()[1] for line in target if line.startswith("COPY ")}
        assert folders <= copied, (folders, copied)


def installed_distributions(project: Path) -> set[str]:
    """The canonical names of every distribution in the project's .venv."""
    site_packages = list((project / ".venv" / "lib").glob("python3.*/site-packages"))
    assert len(site_packages) == 1, site_packages
    return {
        canonical(path.name.removesuffix(".dist-info").rsplit("-", 1)[0])
        for path in site_packages[0].glob("*.dist-info")
    }


@pytest.mark.slow
@pytest.mark.cost(60)
def test_readme_run_command_installs_the_runtime_alone_and_runs_the_sample(
    rendered: Path,
) -> None:
    readme = (rendered / "README.md").read_text(encoding="utf-8")
    assert " ".join(README_RUN) in readme
    project = uninstalled(rendered)
    result = project.run(project.uv, *README_RUN[1:])
    assert result.returncode == 0, tail(result.stdout + result.stderr)
    assert json.loads(result.stdout)["status"] == "succeeded"

    installed = installed_distributions(rendered)
    declared = pyproject(rendered)
    assert names(declared["project"]["dependencies"]) <= installed
    not_needed = names(declared["dependency-groups"]["orchestrator"]) | DEV_TOOLS
    assert installed & not_needed == set()


def test_update_across_v0_5_0_prints_the_image_step_for_the_orchestrator(
    capsys: pytest.CaptureFixture[str],
) -> None:
    migration = runpy.run_path(str(MIGRATIONS / "v0_5_0_orchestrator_image.py"))
    assert migration["main"](["prefect"]) == 0
    printed = capsys.readouterr().out
    assert "docker build --target orchestrator" in printed
    assert "prefect fails in it" in printed
    assert "uv lock" in printed
