"""Fixtures that give tests a committed, tagged copy of the template as it is on disk.

Copier renders from a git ref, so rendering the working tree directly would use the last
commit and miss uncommitted edits. `template_repo` copies the files git would track
(tracked plus untracked, minus everything .gitignore excludes: .venv, caches,
node_modules), commits them in a throwaway repository and tags the commit `v0.1.0`.
Render it with `--vcs-ref HEAD`.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_TAG = "v0.1.0"

# Identity and settings for throwaway commits, independent of the user's git config
# (signing or hooks configured there would slow down or break the fixture).
_GIT_CONFIG = (
    "-c",
    "user.name=Template Tests",
    "-c",
    "user.email=template-tests@example.invalid",
    "-c",
    "commit.gpgsign=false",
    "-c",
    "tag.gpgsign=false",
    "-c",
    "init.defaultBranch=main",
    "-c",
    "core.hooksPath=/dev/null",
)


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd` with the fixture's identity and return its stdout."""
    result = subprocess.run(
        ["git", *_GIT_CONFIG, *args], cwd=cwd, check=True, capture_output=True, text=True
    )
    return result.stdout


def working_tree_files(repo: Path) -> list[Path]:
    """List the files of `repo` that git would commit, relative to `repo`."""
    listing = git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return [Path(name) for name in listing.split("\0") if name]


def snapshot_template(source: Path, destination: Path) -> Path:
    """Copy the working tree of `source` into a new git repository at `destination`.

    The copy is committed and tagged, so Copier sees exactly what is on disk now.
    """
    destination.mkdir(parents=True, exist_ok=True)
    for relative in working_tree_files(source):
        origin = source / relative
        if not origin.exists() and not origin.is_symlink():
            continue  # deleted in the working tree, not yet in the index
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(origin, target, follow_symlinks=False)
    commit_and_tag(destination, "Snapshot of the template working tree")
    return destination


def commit_and_tag(repo: Path, message: str) -> None:
    """Commit everything in `repo` (initialising it if needed) and tag it TEMPLATE_TAG."""
    if not (repo / ".git").exists():
        git(repo, "init", "--quiet")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--no-verify", "--message", message)
    git(repo, "tag", "--force", TEMPLATE_TAG)


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path to a tagged git snapshot of the template working tree, shared by the session."""
    return snapshot_template(REPO_ROOT, tmp_path_factory.mktemp("template") / "repo")


# ----------------------------------------------------------------------------
# Rendering helpers (shared by test_render, test_rendered_project and test_update)
# ----------------------------------------------------------------------------


def tag(repo: Path, name: str) -> None:
    """Tag HEAD of `repo` as `name` (e.g. a later release, "v0.2.0")."""
    git(repo, "tag", "--force", name)


def commit_and_tag_release(repo: Path, message: str, release: str) -> None:
    """Commit everything in `repo` and tag the commit `release` (TEMPLATE_TAG stays put)."""
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--no-verify", "--message", message)
    tag(repo, release)


def render(
    template: Path,
    destination: Path,
    data: Mapping[str, str] | None = None,
    vcs_ref: str | None = "HEAD",
    *,
    skip_tasks: bool = False,
) -> Path:
    """Render `template` at `vcs_ref` into `destination` as `copier copy --defaults` does.

    `vcs_ref=None` renders a folder that is no git repository as it is (no clone: the
    cheapest render); `skip_tasks` leaves out the first-commit task.
    User settings (COPIER_SETTINGS_PATH, ~/.config/copier) are ignored, so a developer's own
    copier defaults cannot change what the tests render.
    """
    from copier import Settings, run_copy  # copier is slow to import; only renders need it

    run_copy(
        str(template),
        destination,
        data=dict(data or {}),
        defaults=True,
        unsafe=True,
        vcs_ref=vcs_ref,
        quiet=True,
        skip_tasks=skip_tasks,
        settings=Settings(),
    )
    return destination


def tree_bytes(root: Path, exclude: tuple[str, ...] = (".git",)) -> dict[str, bytes]:
    """Every file under `root` as relative POSIX path -> bytes, skipping top-level `exclude`.

    Symlinks are recorded by their target (prefixed with "symlink:") rather than followed.
    """
    tree: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0] in exclude:
            continue
        if path.is_symlink():
            tree[relative.as_posix()] = b"symlink:" + str(path.readlink()).encode()
        elif path.is_file():
            tree[relative.as_posix()] = path.read_bytes()
    return tree
