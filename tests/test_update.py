"""`copier update` upgrades the plumbing and keeps the team's code (layer 5).

The release history is simulated: the working tree is snapshotted as `v0.1.0`; a copy of
that repository then gets a plumbing change (a comment in the template-owned runner) and a
change to the template's own transforms/orders.py, committed and tagged `v0.2.0`. Projects
are rendered from `v0.1.0`, committed as a user would, and updated to `v0.2.0`.

The real history: projects rendered from earlier releases of this repository (tagged at
the commits CHANGELOG.md names, in a local clone: no network), edited as a team would
(tests/team_edits.py), update to the working tree (slow tier). Beside them: the team-owned
patterns against every rendered path, the first commit, updates after deleted files, the
rendered drift check and the CI step that refuses conflict leftovers.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import answer_space
import pytest
import yaml
from installed_project import install
from team_edits import apply_team_edits, assert_team_edits_kept
from template_fixtures import (
    REPO_ROOT,
    TEMPLATE_TAG,
    commit_and_tag_release,
    git,
    render,
    tree_bytes,
)

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
    """Render `template` at `vcs_ref` into a git repository with the files committed.

    The template's first-commit task makes that commit; releases before it had none, so
    then the user's first commit is made here, as the README of those releases said.
    """
    render(template, destination, vcs_ref=vcs_ref)
    if not (destination / ".git").exists():
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
    # The edits teams make to their catalog entry: a tag, the GitHub link, a new annotation.
    catalog = project / "catalog-info.yaml"
    catalog.write_text(
        catalog.read_text(encoding="utf-8")
        .replace("    - data-pipeline\n", "    - data-pipeline\n    - orders\n")
        .replace("    # github.com/project-slug: <org>/", "    github.com/project-slug: acme/")
        .replace("spec:\n", "    pagerduty.com/service-id: P123\nspec:\n"),
        encoding="utf-8",
    )
    users_catalog = catalog.read_text(encoding="utf-8")
    commit_all(project, "Drop internal orders")

    update(project, releases.next)

    # Template-owned files record the release, and catalog-info.yaml's fleet-view annotation
    # (its first, so the team's edits above merge around it); README does not.
    assert records_version == {f"src/{PACKAGE}/build_info.json", "catalog-info.yaml"}
    assert catalog.read_text(encoding="utf-8") == users_catalog.replace(
        releases.previous, releases.next
    )
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


# ----------------------------------------------------------------------------
# Living with updates: deletions, team-owned patterns, the first commit, drift, leftovers
# ----------------------------------------------------------------------------

# What the team owns, by rendered path: every `_skip_if_exists` pattern must match these
# and nothing else (a pattern matching deploy/base/pipeline.toml froze the cluster's config).
TEAM_OWNED = re.compile(
    rf"^(src/{PACKAGE}/(transforms|contracts)/[^/]+\.py|src/{PACKAGE}/validation/rules\.py"
    r"|tests/test_(transforms|rules)\.py|pipeline\.toml|deploy/base/params\.env)$"
)
DELETED_BY_THE_TEAM = ("docs/orchestration.md", ".pre-commit-config.yaml")
LEFTOVERS_STEP = "No conflict markers or .rej files from copier update"


def skip_if_exists_patterns() -> list[str]:
    """The `_skip_if_exists` patterns of copier.yml, as written."""
    settings = yaml.safe_load(answer_space.COPIER_YML.read_text(encoding="utf-8"))
    return [str(pattern) for pattern in settings["_skip_if_exists"]]


@pytest.mark.parametrize(
    "answers", [{}, {"pipeline_type": "streaming"}], ids=["batch", "streaming"]
)
def test_team_owned_patterns_are_plain_text_and_match_only_the_teams_files(
    template_repo: Path, tmp_path: Path, answers: dict[str, str]
) -> None:
    from pathspec import PathSpec

    patterns = skip_if_exists_patterns()
    # copier renders these before it has the answers when a generated file was deleted.
    assert [pattern for pattern in patterns if "{" in pattern] == []
    project = render(template_repo, tmp_path / "project", answers)
    spec = PathSpec.from_lines("gitignore", patterns)  # what copier uses with pathspec 1
    matched = {path for path in tree_bytes(project) if spec.match_file(path)}
    expected = {path for path in tree_bytes(project) if TEAM_OWNED.match(path)}
    assert matched == expected
    assert f"src/{PACKAGE}/transforms/orders.py" in matched
    assert "deploy/base/pipeline.toml" not in matched


def test_a_new_project_is_a_git_repository_with_every_generated_file_committed(
    template_repo: Path, tmp_path: Path
) -> None:
    project = render(template_repo, tmp_path / "project")

    assert len(git(project, "log", "--format=%H").splitlines()) == 1
    assert changed_paths(project) == set()


def test_the_first_commit_falls_back_to_an_identity_only_when_git_has_none(
    tmp_path: Path,
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "README.md").write_text("# Orders Pipeline\n", encoding="utf-8")
    # The task script alone, in a process of its own: copier passes tasks an environment
    # captured when it was imported, so a patched os.environ would not reach them.
    no_identity = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GIT_AUTHOR_", "GIT_COMMITTER_")) and key != "EMAIL"
    }
    no_identity |= {"GIT_CONFIG_GLOBAL": str(tmp_path / "no-gitconfig"), "GIT_CONFIG_NOSYSTEM": "1"}

    subprocess.run(
        [sys.executable, str(REPO_ROOT / "tasks" / "first_commit.py")],
        cwd=project,
        env=no_identity,
        check=True,
        capture_output=True,
    )

    author = git(project, "log", "--format=%an <%ae>").strip()
    assert author == "Data Pipeline Golden Path <golden-path@users.noreply.example.invalid>"


def test_a_project_rendered_inside_a_repository_is_left_to_that_repository(
    template_repo: Path, tmp_path: Path
) -> None:
    monorepo = tmp_path / "monorepo"
    monorepo.mkdir()
    git(monorepo, "init", "--quiet")

    project = render(template_repo, monorepo / "pipelines" / "orders")

    assert not (project / ".git").exists()
    assert "pipelines/" in git(monorepo, "status", "--porcelain", "--untracked-files=normal")


def test_a_project_that_deleted_generated_files_still_updates_and_they_stay_deleted(
    releases: Releases, tmp_path: Path
) -> None:
    project = create_project(releases.repo, tmp_path / "project", releases.previous)
    git(project, "rm", "--quiet", *DELETED_BY_THE_TEAM)
    commit_all(project, "We run no pre-commit and need no orchestration notes")

    update(project, releases.next)

    assert [path for path in DELETED_BY_THE_TEAM if (project / path).exists()] == []
    assert (project / PLUMBING_PATH).read_text(encoding="utf-8").endswith(PLUMBING_CHANGE)
    assert_no_conflicts(project)


def test_a_conflicting_update_names_the_file_and_the_rendered_ci_refuses_it(
    releases: Releases, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    project = create_project(releases.repo, tmp_path / "project", releases.previous)
    with (project / PLUMBING_PATH).open("a", encoding="utf-8") as edit:
        edit.write("\n# The team's own note, where v0.2.0 adds the template's.\n")
    commit_all(project, "A local patch to template-owned plumbing")
    capfd.readouterr()

    update(project, releases.next)

    assert f"  {PLUMBING_PATH}: conflict markers" in capfd.readouterr().err
    commit_all(project, "Commit the update as it came")
    result = leftovers_check(project)
    assert result.returncode == 1
    assert PLUMBING_PATH in result.stdout


def drift_report(project: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run the rendered project's drift check with this interpreter (it has copier)."""
    script = project / ".github" / "scripts" / "template_drift.py"
    return subprocess.run(
        [sys.executable, str(script), *arguments],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GITHUB_ACTIONS": "false"},
    )


def leftovers_check(project: Path) -> subprocess.CompletedProcess[str]:
    """Run the rendered CI's conflict-leftovers step, as written in ci.yml, in `project`."""
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    (script,) = [step["run"] for step in steps if step.get("name") == LEFTOVERS_STEP]
    return subprocess.run(
        ["bash", "-e", "-c", script], cwd=project, capture_output=True, text=True, check=False
    )


def test_the_drift_check_lists_template_owned_files_the_team_changed_and_no_others(
    template_repo: Path, tmp_path: Path
) -> None:
    project = create_project(template_repo, tmp_path / "project", TEMPLATE_TAG)
    with (project / PLUMBING_PATH).open("a", encoding="utf-8") as edit:
        edit.write("\n# A local patch to the runner.\n")
    with (project / TRANSFORMS_PATH).open("a", encoding="utf-8") as edit:
        edit.write(USER_TRANSFORMS_CHANGE)
    git(project, "rm", "--quiet", "docs/orchestration.md")
    commit_all(project, "Team edits")

    report = drift_report(project)
    strict = drift_report(project, "--strict")

    assert report.returncode == 0, report.stderr
    changed = [line.split()[1] for line in report.stdout.splitlines() if line.startswith("changed")]
    assert changed == [PLUMBING_PATH]
    assert "deleted  docs/orchestration.md" in report.stdout
    assert strict.returncode == 1


@pytest.mark.parametrize(
    ("leftover", "content"),
    [
        (
            "README.md",
            "# Pipeline\n<<<<<<< before updating\nours\n=======\ntheirs\n>>>>>>> after updating\n",
        ),
        ("pyproject.toml.rej", "diff a/pyproject.toml b/pyproject.toml\n"),
    ],
    ids=["conflict-markers", "rej-file"],
)
def test_the_rendered_ci_fails_on_what_a_conflicted_update_leaves(
    template_repo: Path, tmp_path: Path, leftover: str, content: str
) -> None:
    project = create_project(template_repo, tmp_path / "project", TEMPLATE_TAG)
    assert leftovers_check(project).returncode == 0

    (project / leftover).write_text(content, encoding="utf-8")
    commit_all(project, "Commit an unresolved update")

    result = leftovers_check(project)
    assert result.returncode == 1
    assert leftover in result.stdout


# ----------------------------------------------------------------------------
# Real history: projects rendered from earlier releases of this repository
# ----------------------------------------------------------------------------

# Releases from CHANGELOG.md, by the commit each tag names (docs/releasing.md). Projects
# rendered from each, edited as a team would, update to the working tree tagged as
# SNAPSHOT_RELEASE. On a release, add it here and move SNAPSHOT_RELEASE to the next one.
EARLIER_RELEASES = {"v0.1.0": "a8289cb", "v0.3.0": "6147a02", "v0.4.0": "ffcad44"}
SNAPSHOT_RELEASE = "v0.5.0"


@pytest.fixture(scope="module")
def history(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of this repository with EARLIER_RELEASES tagged and the working tree on top.

    Cloned from the local repository (no network): its history holds the release commits.
    The working tree snapshot (`template_repo`) is committed over it as SNAPSHOT_RELEASE.
    """
    repo = tmp_path_factory.mktemp("history") / "repo"
    git(REPO_ROOT, "clone", "--quiet", "--no-checkout", str(REPO_ROOT), str(repo))
    for release, commit in EARLIER_RELEASES.items():
        if subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=repo).returncode:
            pytest.fail(f"{release} ({commit}) is not in this clone's history (a shallow clone?)")
        git(repo, "tag", "--force", release, commit)
    git(repo, f"--work-tree={template_repo}", "add", "--all")
    git(repo, "commit", "--quiet", "--no-verify", "--allow-empty", "--message", "The working tree")
    git(repo, "tag", "--force", SNAPSHOT_RELEASE)
    git(repo, "reset", "--quiet", "--hard")  # the clone's own files match its HEAD
    return repo


def lint(project: Path) -> None:
    """`ruff check` and `ruff format --check`, as the project's CI runs them."""
    for command in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command],
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def assert_type_checks_and_runs(project: Path) -> None:
    """The updated project installs, type-checks and runs on its sample data with no hand
    edit: what its CI and its first scheduled run after the update do."""
    installed = install(project)
    installed.uv_run("mypy", "src")
    run = installed.uv_run("python", "-m", "src.cli", "run", "--json")
    assert json.loads(run.stdout.splitlines()[-1])["status"] == "succeeded"


def files_the_team_changed(project: Path) -> set[str]:
    """Paths the team's own commit (HEAD) added or modified."""
    return set(git(project, "diff", "--name-only", "HEAD~1", "HEAD").splitlines())


@pytest.mark.slow
@pytest.mark.cost(40)
@pytest.mark.parametrize("release", list(EARLIER_RELEASES))
def test_a_team_project_from_an_earlier_release_updates_to_the_working_tree(
    history: Path, tmp_path: Path, release: str, capfd: pytest.CaptureFixture[str]
) -> None:
    project = create_project(history, tmp_path / "project", release)
    apply_team_edits(project)
    commit_all(project, "The team's day-two edits")
    touched = files_the_team_changed(project)

    update(project, SNAPSHOT_RELEASE)

    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["_commit"] == SNAPSHOT_RELEASE
    tree = tree_bytes(project)
    assert [path for path in tree if path.endswith(".rej")] == []
    conflicted = {path for path, content in tree.items() if CONFLICT_MARKER.search(content)}
    assert conflicted - touched == set(), "conflicts in files the team never touched"
    assert conflicted == set(), f"the team's edits conflict: {sorted(conflicted)}"
    assert_team_edits_kept(project)
    lint(project)
    # Every earlier release predates the Delta Lake tables: the v0.5.0 migration says what to do.
    assert "Template v0.5.0 changed the destination" in capfd.readouterr().err
    assert_type_checks_and_runs(project)


@pytest.mark.slow
@pytest.mark.cost(30)
def test_a_project_from_the_oldest_release_that_deleted_files_updates_to_the_working_tree(
    history: Path, tmp_path: Path
) -> None:
    oldest = next(iter(EARLIER_RELEASES))
    project = create_project(history, tmp_path / "project", oldest)
    git(project, "rm", "--quiet", *DELETED_BY_THE_TEAM)
    commit_all(project, "We run no pre-commit and need no orchestration notes")

    update(project, SNAPSHOT_RELEASE)

    assert [path for path in DELETED_BY_THE_TEAM if (project / path).exists()] == []
    assert_no_conflicts(project)


def test_the_delta_lake_migration_removes_only_the_retired_destination_settings(
    tmp_path: Path,
) -> None:
    config = (
        'log_level = "INFO"\n'
        "[source]\n"
        "max_concurrency = 4  # not the destination's: kept\n"
        "[ destination ]\n"
        'path = "data/output/orders"\n'
        "keep_snapshots = 3                # committed snapshots kept for rollback\n"
        "  lock_lease_seconds=60\n"
        "retention_hours = 168\n"
    )
    (tmp_path / "pipeline.toml").write_text(config, encoding="utf-8")
    (tmp_path / "deploy" / "base").mkdir(parents=True)
    (tmp_path / "deploy" / "base" / "pipeline.toml").write_text(config, encoding="utf-8")

    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "migrations" / "v0_5_0_delta_lake.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    expected = config.replace(
        "keep_snapshots = 3                # committed snapshots kept for rollback\n", ""
    ).replace("  lock_lease_seconds=60\n", "")
    for name in ("pipeline.toml", "deploy/base/pipeline.toml"):
        assert (tmp_path / name).read_text(encoding="utf-8") == expected
        assert f"removed from {name} [destination]: keep_snapshots = 3" in result.stderr
    assert "docs/destination.md" in result.stderr
