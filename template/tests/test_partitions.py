"""Partitioned runs and backfills: each daily partition replaces only its own rows."""

from __future__ import annotations

import json
from datetime import date, timedelta

import polars as pl
import pytest

from .conftest import Workspace, run_cli
from .sample_expectations import EXPECTED

# From data/sample/README.md, "one file per run": written rows per file and order_date.
WRITTEN_PER_FILE = {"2026-10-01": 908, "2026-10-02": 912, "2026-10-03": 911}


def rows_per_date(workspace: Workspace) -> dict[str, int]:
    per_date = workspace.output_frame().group_by("order_date").len()
    return {str(day): n for day, n in per_date.iter_rows()}


def test_a_partition_run_reads_only_that_partition(workspace: Workspace) -> None:
    result = run_cli("run", "--partition", "2026-10-02", "--json", env=workspace.env())

    assert result.returncode == 0, result.stderr
    report = result.json()
    assert report["partition"] == "2026-10-02"
    assert report["counts"]["read"] == 1000
    assert report["counts"]["written"] == WRITTEN_PER_FILE["2026-10-02"]
    partitions = workspace.output_frame()["source_partition"].cast(pl.String).unique()
    assert partitions.to_list() == ["2026-10-02"]


def test_a_backfill_runs_every_partition_and_keeps_late_arrivals(workspace: Workspace) -> None:
    result = run_cli(
        "backfill", "--start", "2026-10-01", "--end", "2026-10-03", "--json", env=workspace.env()
    )

    assert result.returncode == 0, result.stderr
    report = result.json()
    assert [run["partition"] for run in report["partitions"]] == list(WRITTEN_PER_FILE)
    assert [run["counts"]["written"] for run in report["partitions"]] == list(
        WRITTEN_PER_FILE.values()
    )
    # Every destination merges on the key: a re-sent order replaces its earlier copy, so a
    # backfill ends with what one full run writes.
    assert rows_per_date(workspace) == EXPECTED.written_per_date


def test_rerunning_a_partition_after_a_backfill_changes_nothing(workspace: Workspace) -> None:
    backfill = ["backfill", "--start", "2026-10-01", "--end", "2026-10-03"]
    assert run_cli(*backfill, env=workspace.env()).returncode == 0
    after_backfill = workspace.output_files()

    version = workspace.target.commit_marker()

    rerun = run_cli("run", "--partition", "2026-10-01", "--json", env=workspace.env())
    assert rerun.returncode == 0, rerun.stderr
    assert workspace.output_files() == after_backfill
    assert workspace.target.commit_marker() == version  # nothing changed: nothing committed

    assert run_cli(*backfill, env=workspace.env()).returncode == 0
    assert workspace.output_files() == after_backfill
    assert workspace.target.commit_marker() == version


@pytest.mark.source_files
def test_a_backfill_stops_at_the_first_failing_partition(workspace: Workspace) -> None:
    landing = workspace.root / "landing"
    landing.mkdir()
    (landing / "orders-2026-10-01.csv").write_text(
        "order_id,customer_id,ordered_at,amount,currency,country,status,coupon_code\n"
        "O-1,C-1,2026-10-01T08:00:00Z,1.00,EUR,DE,paid,\n"
    )
    (landing / "orders-2026-10-02.csv").write_text(
        "order_id,customer_id,ordered_at,currency\nO-2,C-2,2026-10-02T08:00:00Z,EUR\n"
    )
    env = workspace.env(str(landing / "orders-{date}.csv"))
    result = run_cli("backfill", "--start", "2026-10-01", "--end", "2026-10-03", "--json", env=env)

    assert result.returncode == 65
    report = result.json()
    assert report["partition"] == "2026-10-02"
    assert [run["partition"] for run in report["partitions"]] == ["2026-10-01"]
    manifests = [json.loads(path.read_text()) for path in workspace.runs_dir.glob("*/*.json")]
    assert sorted(m["status"] for m in manifests) == ["failed", "succeeded"]


@pytest.mark.source_files
def test_a_partition_run_without_a_date_placeholder_is_a_configuration_error(
    workspace: Workspace,
) -> None:
    env = workspace.env(str(workspace.root / "orders.csv"))
    result = run_cli("run", "--partition", "2026-10-01", env=env)

    assert result.returncode == 78
    assert "{date}" in result.stderr


def test_an_end_before_the_start_is_refused(workspace: Workspace) -> None:
    result = run_cli(
        "backfill", "--start", "2026-10-03", "--end", "2026-10-01", env=workspace.env()
    )

    assert result.returncode == 78
    assert "swap --start and --end" in result.stderr


MANY_DAYS, PER_DAY = 40, 5  # more output partitions than one Delta write takes (local table)
FIRST_DAY = date(2026, 9, 1)
HEADER = "order_id,customer_id,ordered_at,amount,currency,country,status,coupon_code\n"


def many_days(keys: dict[int, int], amount: str) -> str:
    """One valid order per key, on FIRST_DAY + its day number, with this amount."""
    lines = (
        f"O-{key},C-{key},{FIRST_DAY + timedelta(days=day)}T08:00:00Z,{amount},EUR,DE,paid,\n"
        for key, day in keys.items()
    )
    return HEADER + "".join(lines)


def test_full_runs_over_many_dates_commit_every_row_once(workspace: Workspace) -> None:
    # A new local Delta table, and then its partitions, written `PARTITIONS_PER_WRITE`
    # partitions at a time and committed at once.
    keys = {key: key % MANY_DAYS for key in range(MANY_DAYS * PER_DAY)}
    source = workspace.root / "many-days.csv"
    source.write_text(many_days(keys, "1.50"), encoding="utf-8")
    env = workspace.env(source=str(source))

    first = run_cli("run", "--json", env=env)

    assert first.returncode == 0, first.stderr
    assert first.json()["counts"]["written"] == len(keys)
    assert rows_per_date(workspace) == {
        str(FIRST_DAY + timedelta(days=day)): PER_DAY for day in range(MANY_DAYS)
    }
    marker = workspace.target.commit_marker()
    unchanged = run_cli("run", "--json", env=env)
    assert unchanged.returncode == 0, unchanged.stderr
    assert workspace.target.commit_marker() == marker

    # Then new amounts; three of day 0's orders move to day 1 and two leave the source: day 0,
    # which the run no longer writes, keeps only those two.
    moved, gone = [0, 40, 80], [120, 160]
    changed = {key: 1 if key in moved else day for key, day in keys.items() if key not in gone}
    source.write_text(many_days(changed, "2.50"), encoding="utf-8")

    second = run_cli("run", "--json", env=env)

    assert second.returncode == 0, second.stderr
    frame = workspace.output_frame()
    assert frame["order_id"].to_list() == sorted(f"O-{key}" for key in keys)
    assert rows_per_date(workspace)[str(FIRST_DAY)] == len(gone)
    assert rows_per_date(workspace)[str(FIRST_DAY + timedelta(days=1))] == PER_DAY + len(moved)
    old = frame.filter(pl.col("order_id").is_in([f"O-{key}" for key in gone]))
    assert old["amount"].to_list() == [1.5, 1.5]
    assert frame.filter(~pl.col("order_id").is_in(old["order_id"].to_list()))[
        "amount"
    ].unique().to_list() == [2.5]
