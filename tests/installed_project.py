"""A rendered project installed with its own `uv sync`, and running commands in it.

Shared by the layer-3 tests, the engine parity test and the destination matrix. The project
gets the caller's uv cache (UV_CACHE_DIR is inherited) but none of the caller's pipeline or
telemetry settings, and its own .venv unless it is given a shared `environment`.

A shared environment serves projects that differ only in their I/O answers (destination,
source): same engine and orchestrator, so the same heavy packages. Each project's `uv sync`
into it is exact: packages only another project needs are removed, its own are added, and
the project itself is reinstalled from its own folder, so every project still runs with
exactly its declared dependencies. What is shared is the rest: the venv, the packages both
need, and their bytecode compiled on first import. Projects use one environment one after
the other: within one pytest worker tests run one at a time, and each worker has its own
`EnvironmentPool`.
"""

from __future__ import annotations

import hashlib
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
# The Spark project's own suite starts ~30 JVMs: over 600 s on a loaded two-core machine,
# and past 1800 s beside the other xdist worker on a machine shared with other jobs.
COMMAND_TIMEOUT_S = 3600
OUTPUT_TAIL_LINES = 60

# Variables of the caller's environment that would point the project at someone else's
# virtual environment, Python path, pipeline config or telemetry collector.
_FOREIGN_ENV_PREFIXES = ("PIPELINE_", "OTEL_")
_FOREIGN_ENV_KEYS = {"UV_PROJECT_ENVIRONMENT", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}
# kinesalite for a Kinesis project's tests (its tests/kinesis_server.py reads KINESALITE_BIN),
# installed by tests/install-node-tools.sh.
# The rendered suites' real-Prometheus test (tests/test_queries_against_real_metrics.py; a
# Prometheus per run): the default batch project (layer 3) and the first streaming one (the
# stream matrix) run it; every other whole-suite run passes these options to leave it out.
WITHOUT_PROMETHEUS = ("-m", "not prometheus")
KINESALITE_BIN = Path(__file__).resolve().parent / "kinesalite/node_modules/.bin/kinesalite"


def project_env() -> dict[str, str]:
    """The caller's environment minus what belongs to the caller's project.

    UV_CACHE_DIR and the rest of uv's settings stay, so the cache is shared;
    UV_PROJECT_ENVIRONMENT goes, so uv creates the project's own .venv.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _FOREIGN_ENV_KEYS and not key.startswith(_FOREIGN_ENV_PREFIXES)
    }
    if KINESALITE_BIN.exists():
        env.setdefault("KINESALITE_BIN", str(KINESALITE_BIN))
    return env


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


def uninstalled(root: Path, *, environment: Path | None = None) -> RenderedProject:
    """A rendered project as `copier copy` leaves it, nothing installed yet: what its own
    first command (`uv run ...`) installs is that command's doing. Its environment is its own
    .venv or the shared `environment`."""
    answers = yaml.safe_load((root / ".copier-answers.yml").read_text(encoding="utf-8"))
    env = project_env()
    if environment is not None:
        env["UV_PROJECT_ENVIRONMENT"] = str(environment)
    return RenderedProject(root, answers, require_uv(), env)


def install(root: Path, *, dev: bool = True, environment: Path | None = None) -> RenderedProject:
    """Install a rendered project with its own `uv sync` (runtime only when `dev` is False;
    the default groups, `dev` and the `orchestrator` group it includes, otherwise), into its
    own .venv or the shared `environment`, failing the test with the output tail when that
    does not work."""
    installed = uninstalled(root, environment=environment)
    uv = installed.uv
    command = [uv, "sync"] if dev else [uv, "sync", "--no-dev"]
    sync = installed.run(*command, timeout=SYNC_TIMEOUT_S)
    if sync.returncode != 0:
        pytest.fail(f"`uv sync` exited {sync.returncode}:\n{tail(sync.stdout + sync.stderr)}")
    return installed


# Answers that choose only what a pipeline reads and writes: projects that differ in these
# alone share an environment.
IO_ANSWERS = ("source", "stream_source", "destination")


class EnvironmentPool:
    """Virtual environments shared by projects that differ only in IO_ANSWERS."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def environment_for(self, answers: dict[str, Any]) -> Path:
        """The environment of every project with these answers, whatever its IO_ANSWERS."""
        shared = sorted(
            (key, str(value))
            for key, value in answers.items()
            if key not in IO_ANSWERS and not key.startswith("_")
        )
        digest = hashlib.sha256(repr(shared).encode()).hexdigest()[:12]
        return self.root / f"{answers.get('engine', 'project')}-{digest}"

    def install(self, root: Path) -> RenderedProject:
        """Install the rendered project at `root` into its shared environment."""
        answers = yaml.safe_load((root / ".copier-answers.yml").read_text(encoding="utf-8"))
        return install(root, environment=self.environment_for(answers))
