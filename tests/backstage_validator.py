"""Backstage's own entity validators, callable from pytest.

`validate_entities(paths)` runs tests/backstage/validate-entities.mjs (the catalog's entity
policies, the kind validators and the scaffolder Template v1beta3 validator) on YAML files
and returns its exit code and output. Use it for the template's catalog-info.yaml and for the
catalog-info.yaml of every rendered project.

The validator needs Node.js and the pinned npm packages from tests/install-node-tools.sh.
When they are missing, a test calling `validate_entities` fails in CI (`CI=true`), where a
skip would hide a broken install step, and is skipped elsewhere with the same instruction.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from required_tools import tool_unavailable

BACKSTAGE_DIR = Path(__file__).resolve().parent / "backstage"
VALIDATOR_SCRIPT = BACKSTAGE_DIR / "validate-entities.mjs"
INSTALL_SCRIPT = "tests/install-node-tools.sh backstage"
# One run takes well under a second; the bound only stops a hung process.
VALIDATOR_TIMEOUT_S = 60


def validator_unavailable_reason() -> str | None:
    """Why the node validator cannot run here, or None when it can."""
    if shutil.which("node") is None:
        return f"node is not on PATH: install Node.js 20+, then run {INSTALL_SCRIPT}"
    required = (
        "@backstage/catalog-model",
        "@backstage/plugin-scaffolder-common",
        "ajv",
        "yaml",
    )
    missing = [name for name in required if not (BACKSTAGE_DIR / "node_modules" / name).is_dir()]
    if missing:
        return (
            f"Backstage validator packages are not installed ({', '.join(missing)} missing "
            f"under tests/backstage/node_modules): run {INSTALL_SCRIPT}"
        )
    return None


def require_validator() -> None:
    """Fail (in CI) or skip (elsewhere) the calling test when the validator cannot run."""
    reason = validator_unavailable_reason()
    if reason is None:
        return
    tool_unavailable(reason)


def validate_entities(paths: Iterable[str | os.PathLike[str]]) -> tuple[int, str]:
    """Validate the Backstage entities in `paths`; return (exit code, stdout + stderr).

    Exit code 0 means every entity passed; 1 means at least one violation, each line naming
    the file, the entity ref and the problem; 2 means no file was given.
    """
    files = [str(Path(p).resolve()) for p in paths]
    if not files:
        raise ValueError("validate_entities needs at least one file")
    require_validator()
    result = subprocess.run(
        ["node", str(VALIDATOR_SCRIPT), *files],
        cwd=BACKSTAGE_DIR,
        capture_output=True,
        text=True,
        timeout=VALIDATOR_TIMEOUT_S,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr
