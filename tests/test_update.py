"""`copier update` upgrades the plumbing and keeps the team's code (layer 5).

The release history is simulated: the working tree is snapshotted as `v0.1.0`; a copy of
that repository then gets a plumbing change (a comment in the template-owned runner) and a
change to the template's own transforms/orders.py, committed and tagged `v0.2.0`. Projects
are rendered from `v0.1.0`, committed as a user would, and updated to `v0.2.0`.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import answer_space
import pytest
import yaml
from template_fixtures import TEMPLATE_TAG, commit_and_tag_release, git, render, tree_bytes

# Started early among the cheap modules: its tests take 5-15 s each (conftest.py).
pytestmark = pytest.mark.cost(15)

NEXT_RELEASE = "v0.2.0"
PACKAGE = "orders_pipeline"  # the default answers' package

PLUMBING_PATH = f"src/{PACKAGE}/pipeline/runner.py"
TRANSFORMS_PATH = f"src/{PACKAGE}/transforms/orders.py"
TEMPLATE_PLUMBING = "template/src/{{ package_name }}/pipeline/runner.py"
TEMPLATE_TRANSFORMS = "template/src/{{ package_name }}/transforms/orders.py"

PLUMBING_CHANGE = "\n# Runner note added in v0.2.0 (plumbing: copier update delivers it).\n"
TEMPLATE_TRANSFORMS_CHANGE = (
    "\n\ndef template_v020_transform(orders: pl.LazyFrame) -> pl.LazyFrame:\n"
    '    """Added to the template in v0.2.0: never lands in a project that exists."""\n'
    "    return orders\n"
)
USER_TRANSFORMS_CHANGE = (
    "\n\ndef drop_internal_orders(orders: pl.LazyFrame) -> pl.LazyFrame:\n"
    '    """The team\'s own rule, added after generation."""\n'
    '    return orders.filter(pl.col("status").ne_missing("internal"))\n'
)

CONFLICT_MARKER = re.compile(rb"^(<<<<<<<|>>>>>>>)( |$)", re.MULTILINE)


@dataclass(frozen=True)
class Releases:
    """A template repository tagged at two releases."""

    repo: Path
    previous: str
    next: str


@pytest.fixture(scope="module")
def releases(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Releases:
    """The snapshot as v0.1.0, and v0.2.0 with a plumbing and a transforms change."""
    repo = tmp_path_factory.mktemp("releases") / "repo"
    shutil.copytree(template_repo, repo, symlinks=True)
    with (repo / TEMPLATE_PLUMBING).open("a", encoding="utf-8") as plumbing:
        plumbing.write(PLUMBING_CHANGE)
    with (repo / TEMPLATE_TRANSFORMS).open("a", encoding="utf-8") as transforms:
        transforms.write(TEMPLATE_TRANSFORMS_CHANGE)
    commit_and_tag_release(
        repo, "Release v0.2.0: runner note, new template transform", NEXT_RELEASE
    )
    return Releases(repo, TEMPLATE_TAG, NEXT_RELEASE)


def create_project(template: Path, destination: Path, vcs_ref: str) -> Path:
    """Render `template` at `vcs_ref` and commit the result, as a user's first commit."""
    render(template, destination, vcs_ref=vcs_ref)
    git(destination, "init", "--quiet")
    git(destination, "add", "--all")
    git(destination, "commit", "--quiet", "--no-verify", "--message", "Generated project")
    return destination


def commit_all(project: Path, message: str) -> None:
    """Commit every change in `project`."""
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--no-verify", "--message", message)


def update(project: Path, vcs_ref: str, data: dict[str, str] | None = None) -> None:
    """`copier update --trust --defaults --skip-answered --overwrite --vcs-ref REF [--data]`."""
    from copier import Settings, run_update

    run_update(
        project,
        data=dict(data or {}),
        defaults=True,
        unsafe=True,
        overwrite=True,
        skip_answered=True,
        vcs_ref=vcs_ref,
        quiet=True,
        settings=Settings(),
    )


def changed_paths(project: Path) -> set[str]:
    """Paths `git status --porcelain` reports (modified, added, deleted or untracked)."""
    status = git(project, "status", "--porcelain", "--untracked-files=all")
    return {line[3:] for line in status.splitlines() if line}


def assert_no_conflicts(project: Path) -> None:
    """No `.rej` files and no conflict markers anywhere in the project."""
    tree = tree_bytes(project)
    assert [path for path in tree if path.endswith(".rej")] == []
    assert [path for path, content in tree.items() if CONFLICT_MARKER.search(content)] == []


def test_update_keeps_the_teams_transforms_and_delivers_the_plumbing(
    releases: Releases, tmp_path: Path
) -> None:
    project = create_project(releases.repo, tmp_path / "project", releases.previous)
    records_version = {
        path
        for path, content in tree_bytes(project).items()
        if releases.previous.encode() in content and path != ".copier-answers.yml"
    }
    transforms = project / TRANSFORMS_PATH
    with transforms.open("a", encoding="utf-8") as edit:
        edit.write(USER_TRANSFORMS_CHANGE)
    users_transforms = transforms.read_text(encoding="utf-8")
    commit_all(project, "Drop internal orders")

    update(project, releases.next)

    assert transforms.read_text(encoding="utf-8") == users_transforms
    assert "template_v020_transform" not in users_transforms
    assert (project / PLUMBING_PATH).read_text(encoding="utf-8").endswith(PLUMBING_CHANGE)
    assert_no_conflicts(project)
    # The plumbing file, the answers, and the files that record the template version
    # (README, Backstage annotation, build info): nothing else moves.
    assert changed_paths(project) == {PLUMBING_PATH, ".copier-answers.yml", *records_version}
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["_commit"] == releases.next


def test_updating_an_untouched_project_gives_a_fresh_render_except_team_owned_code(
    releases: Releases, tmp_path: Path
) -> None:
    project = create_project(releases.repo, tmp_path / "project", releases.previous)
    generated_transforms = (project / TRANSFORMS_PATH).read_bytes()

    update(project, releases.next)

    fresh = render(releases.repo, tmp_path / "fresh", vcs_ref=releases.next)
    updated_tree, fresh_tree = tree_bytes(project), tree_bytes(fresh)
    assert sorted(updated_tree) == sorted(fresh_tree)
    differing = [path for path in fresh_tree if updated_tree[path] != fresh_tree[path]]
    # transforms/ is in _skip_if_exists: once generated it is the team's, even untouched.
    assert differing == [TRANSFORMS_PATH]
    assert updated_tree[TRANSFORMS_PATH] == generated_transforms
    assert_no_conflicts(project)


def test_update_to_the_same_release_changes_nothing(template_repo: Path, tmp_path: Path) -> None:
    project = create_project(template_repo, tmp_path / "project", TEMPLATE_TAG)
    before = tree_bytes(project)

    update(project, TEMPLATE_TAG)

    assert changed_paths(project) == set()
    assert tree_bytes(project) == before


def other_orchestrators() -> list[str]:
    """Every offered orchestrator except the default, read from copier.yml."""
    offered = [value for key, value in answer_space.iter_choice_values() if key == "orchestrator"]
    return offered[1:]


@pytest.mark.parametrize("orchestrator", other_orchestrators())
def test_switching_orchestrator_gives_a_fresh_render_and_keeps_the_teams_code(
    template_repo: Path, tmp_path: Path, orchestrator: str
) -> None:
    project = create_project(template_repo, tmp_path / "project", TEMPLATE_TAG)
    transforms = project / TRANSFORMS_PATH
    with transforms.open("a", encoding="utf-8") as edit:
        edit.write(USER_TRANSFORMS_CHANGE)
    users_transforms = transforms.read_bytes()
    commit_all(project, "Drop internal orders")

    update(project, TEMPLATE_TAG, {"orchestrator": orchestrator})

    fresh = render(template_repo, tmp_path / "fresh", {"orchestrator": orchestrator})
    updated_tree, fresh_tree = tree_bytes(project), tree_bytes(fresh)
    assert sorted(updated_tree) == sorted(fresh_tree)
    differing = [path for path in fresh_tree if updated_tree[path] != fresh_tree[path]]
    assert differing == [TRANSFORMS_PATH]
    assert updated_tree[TRANSFORMS_PATH] == users_transforms
    assert_no_conflicts(project)
