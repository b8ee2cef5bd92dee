"""One installed project per engine, shared by the tests that compare engines.

Rendered with every other answer at its default (a local destination, local files) and
installed without the dev group: what a run needs, nothing more. Session-scoped, so the
engine parity test and the conformance corpus (one xdist group, one worker) install each
engine once.
"""

from __future__ import annotations

from pathlib import Path

import answer_space
import pytest
from installed_project import RenderedProject, install
from template_fixtures import render

ENGINES: tuple[str, ...] = tuple(str(engine) for engine in answer_space.QUESTIONS["engine"].choices)
REFERENCE_ENGINE = str(answer_space.QUESTIONS["engine"].default)


@pytest.fixture(scope="session")
def engine_projects(
    template_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, RenderedProject]:
    """Each engine's project, rendered and installed once per test session."""
    installed: dict[str, RenderedProject] = {}
    for engine in ENGINES:
        root = render(
            template_repo, tmp_path_factory.mktemp(engine) / "project", {"engine": engine}
        )
        installed[engine] = install(root, dev=False)
    return installed
