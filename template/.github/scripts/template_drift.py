"""List the template-owned files this project has changed: they conflict on `copier update`.

Renders the template afresh at the release `.copier-answers.yml` records (`_src_path`,
`_commit`) with the recorded answers, then compares each file the template owns (every
rendered file outside the template's `_skip_if_exists` patterns, which are the team's) with
the project's copy. An edit there is overwritten or conflicts on the next update: propose
it to the template, or keep it knowingly. Files the team deleted are listed apart: deleting
a generated file you do not need is supported, updates leave it deleted.

Needs copier and the template's extensions, not the project's environment (CI runs it with
`uv run --no-project --with 'copier>=9.19' --with copier-template-extensions python ...`),
and read access to the template repository. Exits 0 (warnings only) unless `--strict`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from copier import run_copy

ANSWERS_FILE = ".copier-answers.yml"


def recorded_answers(project: Path) -> dict[str, Any]:
    """The answers file's content: the template's location, release and answers."""
    return yaml.safe_load((project / ANSWERS_FILE).read_text(encoding="utf-8"))


def render_fresh(answers: dict[str, Any], into: Path) -> Callable[[Path], bool]:
    """Render the recorded release with the recorded answers into `into`.

    Returns copier's own test of a team-owned path (the template's `_skip_if_exists`).
    """
    data = {key: value for key, value in answers.items() if not key.startswith("_")}
    worker = run_copy(
        str(answers["_src_path"]),
        into,
        data=data,
        vcs_ref=str(answers["_commit"]),
        defaults=True,
        unsafe=True,  # the template runs its own Jinja extensions, as on `copier update`
        skip_tasks=True,
        quiet=True,
    )
    # run_copy returns its worker; its skip test is the one `copier update` applies.
    return worker.match_skip


def template_owned_files(fresh: Path, is_team_owned: Callable[[Path], bool]) -> list[Path]:
    """Every file of the fresh render the template owns, relative to `fresh`."""
    owned = []
    for path in sorted(fresh.rglob("*")):
        relative = path.relative_to(fresh)
        if relative.parts[0] == ".git" or not path.is_file() or relative.as_posix() == ANSWERS_FILE:
            continue
        if not is_team_owned(relative):
            owned.append(relative)
    return owned


def drift(project: Path) -> tuple[list[str], list[str]]:
    """(changed, deleted): template-owned paths that differ from, or are missing in, `project`."""
    with tempfile.TemporaryDirectory(prefix="template-drift-") as scratch:
        fresh = Path(scratch) / "fresh"
        is_team_owned = render_fresh(recorded_answers(project), fresh)
        changed, deleted = [], []
        for relative in template_owned_files(fresh, is_team_owned):
            mine = project / relative
            if not mine.is_file():
                deleted.append(relative.as_posix())
            elif mine.read_bytes() != (fresh / relative).read_bytes():
                changed.append(relative.as_posix())
        return changed, deleted


def report(changed: list[str], deleted: list[str]) -> None:
    """One line per file; GitHub annotations when running under Actions."""
    annotate = os.environ.get("GITHUB_ACTIONS") == "true"
    for path in changed:
        message = "template-owned file changed: it conflicts on the next copier update"
        print(f"::warning file={path}::{message}" if annotate else f"changed  {path}")
    for path in deleted:
        print(f"deleted  {path} (supported: updates leave it deleted)")
    if not changed:
        print("No template-owned file differs from the template's release.")


def main(argv: list[str] | None = None) -> int:
    """Report the drift of the project in the current directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true", help="exit 1 when a file drifted")
    arguments = parser.parse_args(argv)
    changed, deleted = drift(Path.cwd())
    report(changed, deleted)
    return 1 if arguments.strict and changed else 0


if __name__ == "__main__":
    sys.exit(main())
