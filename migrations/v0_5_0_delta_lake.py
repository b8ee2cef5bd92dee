"""Copier migration for v0.5.0: the local and S3 destinations became Delta Lake tables.

Run by `copier update` (`_migrations` in copier.yml) after it has updated a project with
the `local` or `s3` destination from a release before v0.5.0. The data lives outside the
repository (a volume, a bucket), so nothing can be converted here: the migration only
prints the manual steps once, pointing at the project's own docs/destination.md, which
holds the exact commands for its destination. A run refuses the old layout (exit 78,
naming the location) until it is converted, so skipping the steps cannot lose data.
"""

from __future__ import annotations

import sys

STEPS = """\
Template v0.5.0 changed the destination: datasets are now Delta Lake tables, no longer
snapshot folders. Before the next run over existing output:
  1. Remove `keep_snapshots` (and, for S3, `lock_lease_seconds`, `multipart_threshold_mib`,
     `max_concurrency`) from [destination] in pipeline.toml and deploy/base/pipeline.toml.
  2. Pause the schedule, then convert the current snapshot once, as
     docs/destination.md says under "Moving from the snapshot layout of earlier template
     versions"; check the table, then delete the old layout.
Until then a run refuses the old layout (exit 78, naming the location): nothing is lost.
"""


def main() -> int:
    """Print the manual steps; the update itself has already succeeded."""
    print(STEPS, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
