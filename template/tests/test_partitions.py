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


def test_a_first_run_over_many_dates_commits_every_row_once(workspace: Workspace) -> None:
    # More output partitions than a new local Delta table takes in one write
    # (`PARTITIONS_PER_WRITE`): written in groups, committed at once.
    days, per_day = 40, 5
    first = date(2026, 9, 1)
    header = "order_id,customer_id,ordered_at,amount,currency,country,status,coupon_code\n"
    lines = [
        f"O-{key},C-{key},{first + timedelta(days=key % days)}T08:00:00Z,{key}.50,EUR,DE,paid,\n"
        for key in range(days * per_day)
    ]
    source = workspace.root / "many-days.csv"
    source.write_text(header + "".join(lines), encoding="utf-8")
    env = workspace.env(source=str(source))

    result = run_cli("run", "--json", env=env)

    assert result.returncode == 0, result.stderr
    assert result.json()["counts"]["written"] == days * per_day
    assert set(rows_per_date(workspace).values()) == {per_day}
    assert len(rows_per_date(workspace)) == days
    assert workspace.output_frame()["order_id"].to_list() == sorted(
        f"O-{key}" for key in range(days * per_day)
    )
    marker = workspace.target.commit_marker()

    rerun = run_cli("run", "--json", env=env)

    assert rerun.returncode == 0, rerun.stderr
    assert workspace.target.commit_marker() == marker
