"""Shared pytest configuration: fixture plugins, and the order the expensive tests start in.

The suite runs on two pytest-xdist workers (pyproject.toml: `-n 2 --dist loadgroup`). Tests
that share an installed project carry `xdist_group` marks, so one worker installs it once.
A worker takes the next group when it is done with its own, in collection order, so the
heaviest groups are collected first: were the Spark project's own suite (the longest single
group) collected last, one worker would run it alone at the end.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["template_fixtures"]


def expected_seconds(item: pytest.Item) -> float:
    """The `cost(seconds)` mark closest to `item` (a parameter's, then its module's); 0 if none."""
    mark = item.get_closest_marker("cost")
    return float(mark.args[0]) if mark else 0.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Most expensive first; a stable sort keeps each module's (and parameter's) order."""
    items.sort(key=expected_seconds, reverse=True)
