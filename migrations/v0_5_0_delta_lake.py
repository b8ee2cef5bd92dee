"""Copier migration for v0.5.0: the local and S3 destinations became Delta Lake tables.

Run by `copier update` (`_migrations` in copier.yml) after it has updated a project with
the `local` or `s3` destination from a release before v0.5.0, in the project's folder.

- The destination settings v0.5.0 retired (`keep_snapshots`; for S3 also
  `lock_lease_seconds`, `multipart_threshold_mib`, `max_concurrency`) are removed from
  `[destination]` in pipeline.toml and deploy/base/pipeline.toml, each removal printed: a
  run refuses them (exit 78), and they have no meaning for a Delta table. Only lines of
  the form `key = value` are removed; anything else is left for that refusal to name.
- The data lives outside the repository (a volume, a bucket), so it cannot be converted
  here: the migration prints the manual steps, pointing at the project's own
  docs/destination.md. A run refuses the old layout (exit 78, naming the location) until
  it is converted, so skipping the steps cannot lose data.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

RETIRED = ("keep_snapshots", "lock_lease_seconds", "multipart_threshold_mib", "max_concurrency")
CONFIG_FILES = ("pipeline.toml", "deploy/base/pipeline.toml")
SECTION = re.compile(r"\s*\[\s*([^\]\s]+)\s*\]")
RETIRED_KEY = re.compile(rf"\s*({'|'.join(RETIRED)})\s*=")

STEPS = """\
Template v0.5.0 changed the destination: datasets are now Delta Lake tables, no longer
snapshot folders. Before the next run over existing output, pause the schedule, then
convert the current snapshot once, as docs/destination.md says under "Moving from the
snapshot layout of earlier template versions"; check the table, then delete the old layout.
Until then a run refuses the old layout (exit 78, naming the location): nothing is lost.
"""


def without_retired(text: str) -> tuple[str, list[str]]:
    """`text` without the lines of its [destination] table that set a retired key, and
    those lines."""
    kept, removed = [], []
    section = None
    for line in text.splitlines(keepends=True):
        header = SECTION.match(line)
        if header:
            section = header.group(1)
        elif section == "destination" and RETIRED_KEY.match(line):
            removed.append(line.strip())
            continue
        kept.append(line)
    return "".join(kept), removed


def remove_retired(project: Path) -> list[str]:
    """Remove the retired settings from the project's config files; say what went."""
    said = []
    for name in CONFIG_FILES:
        path = project / name
        if not path.is_file():
            continue
        text, removed = without_retired(path.read_text(encoding="utf-8"))
        if removed:
            path.write_text(text, encoding="utf-8")
            said += [f"  removed from {name} [destination]: {line}" for line in removed]
    return said


def main() -> int:
    """Remove the retired settings and print the manual steps; the update itself has
    already succeeded."""
    removed = remove_retired(Path.cwd())
    if removed:
        print("Template v0.5.0 retired settings the Delta table has no use for:", file=sys.stderr)
        print("\n".join(removed), file=sys.stderr)
    print(STEPS, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
