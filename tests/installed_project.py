"""A rendered project installed with its own `uv sync`, and running commands in it.

Shared by the layer-3 tests and the engine parity test. The project gets the caller's uv
cache (UV_CACHE_DIR is inherited) but its own .venv, and none of the caller's pipeline or
telemetry settings.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from required_tools import require_uv

# Generous bounds that only stop a hung process: a warm `uv sync` takes seconds.
SYNC_TIMEOUT_S = 900
# The Spark project's own suite starts ~30 JVMs: over 600 s on a loaded two-core machine.
COMMAND_TIMEOUT_S = 1800
OUTPUT_TAIL_LINES = 60

# Variables of the caller's environment that would point the project at someone else's
# virtual environment, Python path, pipeline config or telemetry collector.
_FOREIGN_ENV_PREFIXES = ("PIPELINE_", "OTEL_")
_FOREIGN_ENV_KEYS = {"UV_PROJECT_ENVIRONMENT", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}


def project_env() -> dict[str, str]:
    """The caller's environment minus what belongs to the caller's project.

    UV_CACHE_DIR and the rest of uv's settings stay, so the cache is shared;
    UV_PROJECT_ENVIRONMENT goes, so uv creates the project's own .venv.
    """
    return {
        key: value
        for key, value in os.environ.items()
        if key not in _FOREIGN_ENV_KEYS and not key.startswith(_FOREIGN_ENV_PREFIXES)
    }


def tail(text: str, lines: int = OUTPUT_TAIL_LINES) -> str:
    """The last `lines` lines of `text`, where a failing tool says what went wrong."""
    return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class RenderedProject:
    """A rendered and installed project, and a way to run commands in it."""

    root: Path
    answers: dict[str, Any]
    uv: str
    # Left out of the repr: failure reports must not print the caller's environment.
    env: dict[str, str] = field(repr=False)

    def run(
        self, *args: str, timeout: float = COMMAND_TIMEOUT_S
    ) -> subprocess.CompletedProcess[str]:
        """Run `args` in the project root with the project's environment."""
        return subprocess.run(
            list(args),
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def uv_run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`uv run ARGS` in the project, failing the test with the output tail on error."""
        result = self.run(self.uv, "run", *args)
        if result.returncode != 0:
            output = tail(result.stdout + result.stderr)
            pytest.fail(f"`uv run {' '.join(args)}` exited {result.returncode}:\n{output}")
        return result


def install(root: Path, *, dev: bool = True) -> RenderedProject:
    """Install a rendered project with its own `uv sync` (runtime only when `dev` is False),
    failing the test with the output tail when that does not work."""
    uv = require_uv()
    answers = yaml.safe_load((root / ".copier-answers.yml").read_text(encoding="utf-8"))
    installed = RenderedProject(root, answers, uv, project_env())
    command = [uv, "sync"] if dev else [uv, "sync", "--no-dev"]
    sync = installed.run(*command, timeout=SYNC_TIMEOUT_S)
    if sync.returncode != 0:
        pytest.fail(f"`uv sync` exited {sync.returncode}:\n{tail(sync.stdout + sync.stderr)}")
    return installed
