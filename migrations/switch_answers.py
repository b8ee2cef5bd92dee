"""Copier migration run after every update: carry an engine, source or destination switch
into the files the team owns.

`copier update --data engine=pandas` (or a new answer at the prompt) rewrites the
template-owned files, but never the team-owned ones (`_skip_if_exists` in copier.yml): the
transforms and their tests stay written for the old engine and pipeline.toml keeps the old
source's or destination's section, so the project fails at run time. This finds the
team-owned files the switch changes by rendering the new template with the old and with the
new answers, then for each one:

- unedited (it equals what the template gave the team): replaced with the new answers' file;
- pipeline.toml, edited or not: each section the switch changes is replaced by the new
  one and every other line is kept; the settings the team had changed in a replaced
  section are named, since the new section may need them again;
- any other edited file: kept, the new answers' version is written under `.template-switch/`
  and the command fails (exit 1) naming each file to port. The project's CI refuses a
  `.template-switch/` folder, so an unported switch cannot be committed by accident.

Runs only when one of SWITCHES changed (the answers at git HEAD, which `copier update`
requires to be clean, against the ones just written). Argument: the template's local copy
at the new version (copier's `_copier_conf.src_path`).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import copier
import pathspec
import yaml

# The answers that pick code. Today only engine, source and destination change team-owned
# files; the orchestrator and the pipeline type are here so that a release where theirs do
# needs no change to this file (a switch that changes no team-owned file costs two renders).
# A pipeline_type switch never gets here yet: the render hook refuses it before anything is
# written (FIXED_ANSWERS in extensions/given_answers.py), as no update turns a batch project
# into a streaming one. A streaming project records no source or orchestrator, so its
# switches are its engine's and destination's.
SWITCHES = ("pipeline_type", "engine", "orchestrator", "source", "destination")
ANSWERS_FILE = ".copier-answers.yml"
CONFIG_FILE = "pipeline.toml"
PORT_FOLDER = ".template-switch"
TABLE_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_-]+)[^\]]*\]\]?\s*(#.*)?$")


@dataclass
class Outcome:
    """What the switch did to the team-owned files."""

    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    sections: dict[str, list[str]] = field(default_factory=dict)  # table -> settings named
    to_port: list[str] = field(default_factory=list)


def answers_at_head(project: Path) -> dict[str, Any]:
    """The answers committed at git HEAD: those before this update."""
    # `./`: relative to the working directory, a subproject's folder in a monorepo.
    shown = subprocess.run(
        ["git", "show", f"HEAD:./{ANSWERS_FILE}"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    return dict(yaml.safe_load(shown.stdout) or {}) if shown.returncode == 0 else {}


def answers_now(project: Path) -> dict[str, Any]:
    """The answers this update wrote."""
    return dict(yaml.safe_load((project / ANSWERS_FILE).read_text(encoding="utf-8")) or {})


def switched(before: dict[str, Any], after: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """The SWITCHES whose answer changed: name -> (old, new)."""
    return {
        name: (str(before[name]), str(after[name]))
        for name in SWITCHES
        if name in before and name in after and before[name] != after[name]
    }


def render(source: str, ref: str | None, answers: dict[str, Any], into: Path) -> dict[str, bytes]:
    """Render the template at `ref` with `answers` (no tasks) and read back every file."""
    with warnings.catch_warnings():  # "dirty template" and the like: this render is internal
        warnings.simplefilter("ignore")
        copier.run_copy(
            source,
            into,
            data={key: value for key, value in answers.items() if not key.startswith("_")},
            vcs_ref=ref,
            defaults=True,
            quiet=True,
            skip_tasks=True,
            unsafe=True,
            overwrite=True,
        )
    return {
        path.relative_to(into).as_posix(): path.read_bytes()
        for path in into.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(into).parts
    }


def baseline(before: dict[str, Any], root: Path) -> dict[str, bytes]:
    """What the team started from: the previous release rendered with the old answers, or
    nothing when it cannot be rendered (then "unedited" means equal to the new template's
    rendering of the old answers)."""
    try:
        return render(str(before["_src_path"]), str(before["_commit"]), before, root / "given")
    except Exception as error:  # the old release is only a better baseline
        print(f"(the previous template release did not render: {error})", file=sys.stderr)
        return {}


def team_owned(template: Path) -> pathspec.GitIgnoreSpec:
    """The template's `_skip_if_exists` patterns: the files copier update never rewrites."""
    config = yaml.safe_load((template / "copier.yml").read_text(encoding="utf-8"))
    return pathspec.GitIgnoreSpec.from_lines(config.get("_skip_if_exists", []))


def table_blocks(text: str) -> list[tuple[str | None, list[str]]]:
    """The TOML text as (top-level table, lines) blocks; the lines before the first header
    are the block of table None."""
    blocks: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in text.splitlines(keepends=True):
        header = TABLE_HEADER.match(line)
        if header:
            blocks.append((header.group(1), []))
        blocks[-1][1].append(line)
    return blocks


def changed_tables(before: str, after: str) -> list[str]:
    """Top-level tables whose content differs between two renderings of pipeline.toml."""
    old, new = tomllib.loads(before), tomllib.loads(after)
    names = {name for name in [*old, *new] if isinstance(old.get(name, new.get(name)), dict)}
    return sorted(name for name in names if old.get(name) != new.get(name))


def team_settings(current: str, rendered: str, table: str) -> list[str]:
    """Keys of `table` the team set differently from the template's rendering."""
    mine = tomllib.loads(current).get(table, {})
    given = tomllib.loads(rendered).get(table, {})
    return sorted(key for key, value in mine.items() if given.get(key) != value)


def replace_tables(current: str, rendered: str, tables: list[str]) -> str:
    """`current` with every block of `tables` replaced by `rendered`'s (in place of the
    first, or appended); a table the rendering no longer has is removed."""
    new_blocks = {name: lines for name, lines in table_blocks(rendered) if name in tables}
    kept: list[str] = []
    placed: set[str] = set()
    for name, lines in table_blocks(current):
        if name not in tables:
            kept += lines
        elif name not in placed:
            kept += new_blocks.get(name, [])
            placed.add(name)
    for name in tables:
        if name not in placed and name in new_blocks:
            if kept and not kept[-1].endswith("\n\n") and kept[-1].strip():
                kept.append("\n")
            kept += new_blocks[name]
    return "".join(kept)


def merge_config(project: Path, old: bytes, new: bytes, outcome: Outcome) -> None:
    """Replace the pipeline.toml sections the switch changes; name the team's settings."""
    path = project / CONFIG_FILE
    current = path.read_text(encoding="utf-8")
    tables = changed_tables(old.decode(), new.decode())
    for table in tables:
        outcome.sections[table] = team_settings(current, old.decode(), table)
    path.write_text(replace_tables(current, new.decode(), tables), encoding="utf-8")


def carry(
    project: Path,
    given: dict[str, bytes],
    old: dict[str, bytes],
    new: dict[str, bytes],
    owned: pathspec.GitIgnoreSpec,
) -> Outcome:
    """Apply the switch to each team-owned file it changes. `given` is what the team
    started from (old template, old answers), `old` and `new` the new template rendered
    with the old and the new answers."""
    outcome = Outcome()
    for name in sorted(set(old) | set(new)):
        if not owned.match_file(name) or old.get(name) == new.get(name):
            continue
        path = project / name
        mine = path.read_bytes() if path.is_file() else None
        if name == CONFIG_FILE and mine is not None and name in old and name in new:
            merge_config(project, old[name], new[name], outcome)
        elif mine is None or mine in (given.get(name), old.get(name)):
            if name in new:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(new[name])
                outcome.replaced.append(name)
            else:
                path.unlink(missing_ok=True)
                outcome.removed.append(name)
        elif mine != new.get(name):
            if name in new:
                sample = project / PORT_FOLDER / name
                sample.parent.mkdir(parents=True, exist_ok=True)
                sample.write_bytes(new[name])
            outcome.to_port.append(name)
    return outcome


def report(changes: dict[str, tuple[str, str]], outcome: Outcome) -> list[str]:
    """What to tell the team, one line per file or section."""
    what = ", ".join(f"{name} {old} -> {new}" for name, (old, new) in changes.items())
    lines = ["", f"Switched {what}. Team-owned files:"]
    lines += [f"  {name}: replaced (you had not edited it)" for name in outcome.replaced]
    lines += [f"  {name}: removed (the new answers have none)" for name in outcome.removed]
    for table, keys in outcome.sections.items():
        named = f"; you had set {', '.join(keys)}: set them again if [{table}] needs them"
        lines.append(f"  {CONFIG_FILE} [{table}]: replaced by the new one{named if keys else ''}")
    for name in outcome.to_port:
        lines.append(
            f"  {name}: YOURS, written for the old answer: port it; the new answer's "
            f"version is {PORT_FOLDER}/{name}"
        )
    if outcome.to_port:
        lines += [
            f"Port each file above, then delete {PORT_FOLDER}/ (CI refuses it). To drop the "
            "switch instead: git checkout -- . && git clean -fd",
        ]
    lines.append("Then: uv lock && uv run pytest, review `git diff`, commit.")
    return lines


def main(argv: list[str]) -> int:
    """Carry a switch of SWITCHES into the team-owned files; exit 1 if some need porting."""
    project, template = Path.cwd(), Path(argv[1])
    before, after = answers_at_head(project), answers_now(project)
    changes = switched(before, after)
    if not changes:
        return 0
    with tempfile.TemporaryDirectory(prefix="template-switch.") as scratch:
        root = Path(scratch)
        old = render(str(template), "HEAD", before, root / "old")
        new = render(str(template), "HEAD", after, root / "new")
        same_release = before.get("_commit") == after.get("_commit")
        given = old if same_release else baseline(before, root)
        outcome = carry(project, given, old, new, team_owned(template))
    print("\n".join(report(changes, outcome)), file=sys.stderr)
    return 1 if outcome.to_port else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
