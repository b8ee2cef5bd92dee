"""What a test does when a tool it needs (node, an npm package, uv) is missing.

In CI (`CI=true`) a missing tool is a broken install step, so the test fails; elsewhere it
is skipped with the same message, which says how to install the tool.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def tool_unavailable(reason: str) -> NoReturn:
    """Fail the calling test in CI, skip it elsewhere."""
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)
