"""Copier migration for v0.5.0: the orchestrator's packages left the pipeline image.

Run by `copier update` (`_migrations` in copier.yml) after it has updated a project whose
orchestrator runs its pods in an image of the project (Dagster, Prefect) from a release
before v0.5.0, in the project's folder, with the orchestrator as its argument.

v0.5.0 moved the orchestrator's packages from `[project].dependencies` to the dependency
group `orchestrator`, so the Dockerfile's default target no longer has them, and the image
the orchestrator runs comes from its `orchestrator` target. Nothing in the repository can
change what a deployment pulls, so the migration prints the step.
"""

from __future__ import annotations

import sys

STEPS = """\
Template v0.5.0 moved {orchestrator}'s packages out of the pipeline image: they are the
dependency group `orchestrator` in pyproject.toml (`uv sync` and `uv run pytest` still
install them). Run `uv lock` and commit uv.lock. Then build the image {orchestrator} runs
its pods in from the Dockerfile's `orchestrator` target, and point {orchestrator} at it:
  docker build --target orchestrator -t <registry>/<name>-{orchestrator}:<tag> .
The default target (`docker build .`) is the pipeline alone: {orchestrator} fails in it.
docs/orchestration.md says where the image goes.
"""


def main(arguments: list[str]) -> int:
    """Print the step for the orchestrator named in `arguments`."""
    orchestrator = arguments[0] if arguments else "the orchestrator"
    print(STEPS.format(orchestrator=orchestrator), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
