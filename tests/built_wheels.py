"""Wheels of the rendered projects' source-only dependencies, built once per machine.

PySpark is published on PyPI only as a source distribution. uv caches the wheel it builds
under the sdist's HTTP revision, and the index here serves files with a short freshness: a
project synced a few minutes after the last one downloads and builds PySpark again (~15 s
and ~2.4 GB of uv cache each time; measured, one `.ci/run` grew the cache by ~66 GB and
filled the disk). Each session therefore builds those wheels once into a folder outside
the uv cache and hands it to every uv process it starts as `UV_FIND_LINKS`; uv then takes
the built wheel of the version it resolves (6 s, nothing added to the cache).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import parse_wheel_filename

TEMPLATE_REPO = Path(__file__).resolve().parent.parent
ENGINES_FOLDER = TEMPLATE_REPO / "extensions" / "dependencies" / "engines"
# Dependencies PyPI has no wheel for (checked on the index: every release is an sdist).
SOURCE_ONLY = frozenset({"pyspark"})
BUILD_TIMEOUT_S = 900


def wheel_folder() -> Path:
    """Where the built wheels are kept between sessions (`GOLDEN_PATH_WHEELS` overrides)."""
    configured = os.environ.get("GOLDEN_PATH_WHEELS")
    if configured:
        return Path(configured)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "data-pipeline-golden-path" / "wheels"


def source_only_requirements() -> list[Requirement]:
    """The engines' runtime requirements on a package in SOURCE_ONLY."""
    found: list[Requirement] = []
    for path in sorted(ENGINES_FOLDER.glob("*.toml")):
        for line in tomllib.loads(path.read_text(encoding="utf-8")).get("runtime", []):
            requirement = Requirement(line)
            if requirement.name in SOURCE_ONLY:
                found.append(requirement)
    return found


def has_wheel(folder: Path, requirement: Requirement) -> bool:
    """Whether `folder` holds a wheel that satisfies `requirement`."""
    for wheel in folder.glob("*.whl"):
        name, version, _, _ = parse_wheel_filename(wheel.name)
        if name == requirement.name and requirement.specifier.contains(version):
            return True
    return False


def build_wheel(folder: Path, requirement: Requirement) -> None:
    """Build the newest release matching `requirement` into `folder` with pip (the version
    uv resolves too), failing the session with pip's output when it cannot."""
    command = [
        *pip_command(),
        *("wheel", "--quiet", "--no-deps", "--no-cache-dir", "--wheel-dir", str(folder)),
        str(requirement),
    ]
    built = subprocess.run(
        command, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False
    )
    if built.returncode != 0:
        pytest.fail(f"building a wheel of {requirement} failed:\n{built.stdout}{built.stderr}")


def pip_command() -> list[str]:
    """pip of this interpreter when it has one, otherwise pip run by uv."""
    probe = subprocess.run(
        [sys.executable, "-m", "pip", "--version"], capture_output=True, check=False
    )
    if probe.returncode == 0:
        return [sys.executable, "-m", "pip"]
    return ["uv", "tool", "run", "--from", "pip", "pip"]


@pytest.fixture(scope="session", autouse=True)
def source_only_wheels() -> Iterator[Path]:
    """Build the missing wheels (one xdist worker at a time, under a lock) and point every
    uv process this session starts at them."""
    folder = wheel_folder()
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for requirement in source_only_requirements():
            if not has_wheel(folder, requirement):
                build_wheel(folder, requirement)
    before = os.environ.get("UV_FIND_LINKS")
    # uv reads several locations from this variable separated by commas.
    os.environ["UV_FIND_LINKS"] = ",".join(filter(None, [before, str(folder)]))
    yield folder
    if before is None:
        os.environ.pop("UV_FIND_LINKS", None)
    else:
        os.environ["UV_FIND_LINKS"] = before
