"""Copier task: make a new project a git repository with a first commit.

`copier update` works only in a git repository with the generated files committed, so a
project created on the command line starts as one. Run by copier (`_tasks` in copier.yml)
in the new project's folder, only on `copier copy`. It does nothing inside an existing
repository (a monorepo: the team commits there as it likes) and, without git, says what
to run once git is installed. Standard library only: it runs on copier's interpreter.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

FIRST_COMMIT_MESSAGE = "Generated project from the Data Pipeline Golden Path template"
# Used only when git has no identity configured (a fresh container, a CI runner), so the
# first commit never fails; the team's own identity wins whenever it exists.
FALLBACK_IDENTITY = ("Data Pipeline Golden Path", "golden-path@users.noreply.example.invalid")
MANUAL_STEPS = 'git init && git add --all && git commit -m "Generated project"'


def git(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run git in `project`, capturing its output; never raises on a non-zero exit."""
    return subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, check=False)


def inside_a_repository(project: Path) -> bool:
    """True when `project` already lies inside a git work tree."""
    result = git(project, "rev-parse", "--is-inside-work-tree")
    return result.returncode == 0 and result.stdout.strip() == "true"


def identity_options(project: Path) -> list[str]:
    """`-c user.name=... -c user.email=...` for the fallback identity, if git lacks one."""
    options: list[str] = []
    for key, fallback in zip(("user.name", "user.email"), FALLBACK_IDENTITY, strict=True):
        if not git(project, "config", key).stdout.strip():
            options += ["-c", f"{key}={fallback}"]
    return options


def first_commit(project: Path) -> str:
    """Initialise `project`, commit every file, and return the line to print."""
    if shutil.which("git") is None:
        return f"git was not found: install it, then run `{MANUAL_STEPS}` in {project}."
    if inside_a_repository(project):
        return "Inside an existing git repository: commit the new project there."
    steps = (
        ("init", "--quiet"),
        ("add", "--all"),
        # --no-verify: a global pre-commit hook must not block the generated files.
        (
            *identity_options(project),
            "commit",
            "--quiet",
            "--no-verify",
            "-m",
            FIRST_COMMIT_MESSAGE,
        ),
    )
    for step in steps:
        result = git(project, *step)
        if result.returncode != 0:
            return (
                f"`git {' '.join(step)}` failed ({result.stderr.strip()}): "
                f"run `{MANUAL_STEPS}` in {project}."
            )
    return "Created a git repository with the generated files as its first commit."


def main() -> int:
    """Print what was done; exit 0 either way, so a git problem never fails the render."""
    print(first_commit(Path.cwd()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
