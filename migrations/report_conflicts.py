"""Copier migration run after every update: name each file the update left in conflict.

copier reports conflicts in one quiet line, if at all, and the scheduled update workflow
commits whatever it leaves. This lists, after every `copier update`, each changed file that
holds conflict markers and each `*.rej` file (a hunk copier could not place), with what to
do. Only the files git reports as changed are read, so a large data/ folder costs nothing.
Exits 0 either way: the project's CI (`template sync`) is what refuses the leftovers.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

CONFLICT_MARKER = re.compile(rb"^(<<<<<<<|>>>>>>>)( |$)", re.MULTILINE)


def changed_files(project: Path) -> list[str]:
    """Modified and untracked paths, as `git status --porcelain` lists them."""
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "--no-renames"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    return [line[3:] for line in status.stdout.splitlines() if len(line) > 3]


def leftovers(project: Path) -> tuple[list[str], list[str]]:
    """(files with conflict markers, .rej files) among the changed files."""
    marked, rejects = [], []
    for name in changed_files(project):
        path = project / name
        if name.endswith(".rej"):
            rejects.append(name)
        elif path.is_file() and CONFLICT_MARKER.search(path.read_bytes()):
            marked.append(name)
    return sorted(marked), sorted(rejects)


def main() -> int:
    """Print the leftovers of the update just applied, or nothing when there are none."""
    marked, rejects = leftovers(Path.cwd())
    if not (marked or rejects):
        return 0
    lines = ["", "The update left conflicts to resolve before committing:"]
    lines += [f"  {name}: conflict markers, keep the right side of each" for name in marked]
    lines += [
        f"  {name}: a change copier could not place; apply it by hand, delete it"
        for name in rejects
    ]
    print("\n".join(lines), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
