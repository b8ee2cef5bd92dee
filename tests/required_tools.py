"""What a test does when a tool it needs (node, an npm package, uv) is missing.

In CI (`CI=true`) a missing tool is a broken install step, so the test fails; elsewhere it
is skipped with the same message, which says how to install the tool.
"""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest


def tool_unavailable(reason: str) -> NoReturn:
    """Fail the calling test in CI, skip it elsewhere."""
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def require_uv() -> str:
    """Path to uv; fail in CI (a broken install step) and skip elsewhere when it is missing.

    `uv run` exports its own path as UV, which also covers `python -m uv run pytest` (CI)
    where uv need not be on PATH.
    """
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv is None:
        tool_unavailable("uv is not on PATH: install it (https://docs.astral.sh/uv/)")
    return uv
