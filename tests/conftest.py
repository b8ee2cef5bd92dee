"""Shared pytest configuration: fixture plugins, and the order the expensive tests start in.

The suite runs on two pytest-xdist workers (pyproject.toml: `-n 2 --dist loadgroup`). Tests
that share an installed project carry `xdist_group` marks, so one worker installs it once.
A worker takes the next group when it is done with its own, in collection order, so the
heaviest groups are collected first: were the Spark project's own suite (the longest single
group) collected last, one worker would run it alone at the end.
"""

from __future__ import annotations

import pytest

pytest_plugins = ["built_wheels", "template_fixtures", "engine_projects"]


def expected_seconds(item: pytest.Item) -> float:
    """The `cost(seconds)` mark closest to `item` (a parameter's, then its module's); 0 if none."""
    mark = item.get_closest_marker("cost")
    return float(mark.args[0]) if mark else 0.0


def xdist_groups(item: pytest.Item) -> list[str]:
    """The names of the item's `xdist_group` marks (a parameter's and its module's)."""
    names = {
        str(mark.args[0]) if mark.args else str(mark.kwargs.get("name", "default"))
        for mark in item.iter_markers("xdist_group")
    }
    return sorted(names)


def name_the_group_in_the_node_id(item: pytest.Item) -> None:
    """What `--dist loadgroup` does in a worker, redone for pytest 9.

    xdist (3.8) appends `@<group>` to a grouped test's id by setting `item._nodeid`; pytest
    9 keeps the id in `item._id`, so the suffix never arrives and every grouped test is
    scheduled alone (measured: four layer-3 projects installed seven times). Remove this
    once xdist sets the id pytest reads.
    """
    groups = xdist_groups(item)
    if not groups or "@" in item.nodeid.rpartition("]")[2] or not hasattr(item, "_id"):
        return
    from _pytest.nodeid import coerce_node_id  # pytest 9's id type; only reached there

    item._id = coerce_node_id(f"{item.nodeid}@{'_'.join(groups)}")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Most expensive first (a stable sort keeps each module's and parameter's order); in
    an xdist worker with `--dist loadgroup`, each grouped test's id names its group."""
    items.sort(key=expected_seconds, reverse=True)
    if getattr(config.option, "loadgroup", False):  # set by xdist in workers for loadgroup
        for item in items:
            name_the_group_in_the_node_id(item)
