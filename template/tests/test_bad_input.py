"""Bad input: malformed rows, missing columns, empty input, fail rules, missing files."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from .conftest import Workspace, run_cli

HEADER = "order_id,customer_id,ordered_at,amount,currency,country,status,coupon_code\n"
GOOD_ROW = "O-1,C-1,2026-10-01T08:00:00Z,12.50,EUR,DE,paid,\n"


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


@pytest.mark.source_files
def test_malformed_rows_are_quarantined_with_reasons_and_coordinates(
    workspace: Workspace,
) -> None:
    source = write(
        workspace.root / "orders.csv",
        HEADER
        + GOOD_ROW
        + "O-2,C-2,not-a-time,12.50,EUR,DE,paid,\n"
        + "O-3,C-3,2026-10-01T08:00:00Z,12;50,EUR,DE,paid\n"
        + "O-4,C-4,2026-10-01T08:00:00Z\n"
        + "O-5,C-5,2026-10-01T09:00:00Z,1.00,EUR,DE,paid,,extra,fields\n",
    )
    result = run_cli("run", "--json", env=workspace.env(source))

    assert result.returncode == 0, result.stderr
    report = result.json()
    assert report["counts"] == {"read": 5, "written": 2, "quarantined": 3, "filtered": 0}
    quarantine = pl.read_parquet(report["quarantine"]).sort("_source_row")
    assert quarantine["_source_row"].to_list() == [2, 3, 4]
    reasons = quarantine["_reasons"].to_list()
    assert "TYPE_MISMATCH:ordered_at" in reasons[0]
    assert "TYPE_MISMATCH:amount" in reasons[1]
    assert {"AMOUNT_MISSING", "CURRENCY_MISSING"} <= set(reasons[2])


@pytest.mark.source_files
def test_a_missing_required_column_fails_naming_it_and_writes_nothing(
    workspace: Workspace,
) -> None:
    source = write(
        workspace.root / "orders.csv",
        "order_id,customer_id,ordered_at,currency,country,status\n"
        "O-1,C-1,2026-10-01T08:00:00Z,EUR,DE,paid\n",
    )
    result = run_cli("run", "--json", env=workspace.env(source))

    assert result.returncode == 65
    error = result.json()["error"]
    assert error["class"] == "data_contract"
    assert "'amount'" in error["message"] and "orders.csv" in error["message"]
    assert workspace.target.commit_marker() is None


def test_an_empty_input_succeeds_and_leaves_the_target_unchanged(workspace: Workspace) -> None:
    first = run_cli("run", "--json", env=workspace.env())
    assert first.returncode == 0, first.stderr
    before = workspace.output_files()
    marker_before = workspace.target.commit_marker()

    empty = write(workspace.root / "empty.csv", HEADER)
    result = run_cli("run", "--json", env=workspace.env(empty))

    assert result.returncode == 0, result.stderr
    assert result.json()["counts"] == {"read": 0, "written": 0, "quarantined": 0, "filtered": 0}
    assert workspace.output_files() == before
    if not workspace.origin.keeps_state:
        assert workspace.target.commit_marker() == marker_before
    # else the source committed that it read the empty file (test_*_source covers it)


def test_a_fail_rule_stops_the_run_before_any_write(workspace: Workspace) -> None:
    source = write(
        workspace.root / "orders.csv",
        HEADER + GOOD_ROW + "O-2,C-2,2026-10-01T08:00:00Z,5000000,EUR,DE,paid,\n",
    )
    result = run_cli("run", "--json", env=workspace.env(source))

    assert result.returncode == 65
    assert "AMOUNT_IMPLAUSIBLE" in result.json()["error"]["message"]
    assert workspace.target.commit_marker() is None
    manifests = list(workspace.runs_dir.glob("*/manifest.json"))
    assert len(manifests) == 1
    manifest = json.loads(manifests[0].read_text())
    assert manifest["status"] == "failed"
    assert manifest["error"]["class"] == "data_contract"
    assert not list(workspace.runs_dir.glob("*/quarantine.parquet"))


@pytest.mark.source_files
def test_a_source_pattern_matching_nothing_is_a_configuration_error(
    workspace: Workspace,
) -> None:
    result = run_cli("run", env=workspace.env(str(workspace.root / "nothing-*.csv")))

    assert result.returncode == 78
    assert "source.path" in result.stderr
    assert "PIPELINE_SOURCE__PATH" in result.stderr


@pytest.mark.source_files
def test_json_lines_and_parquet_inputs_read_like_csv(workspace: Workspace) -> None:
    rows = [
        {
            "order_id": "O-1",
            "customer_id": "C-1",
            "ordered_at": "2026-10-01T08:00:00Z",
            "amount": 12.5,
            "currency": "EUR",
            "country": "DE",
            "status": "paid",
        },
        {
            "order_id": "O-2",
            "customer_id": "C-2",
            "ordered_at": "2026-10-02T08:00:00Z",
            "amount": "oops",
            "currency": "EUR",
            "status": "paid",
        },
    ]
    jsonl = write(workspace.root / "a.jsonl", "\n".join(json.dumps(row) for row in rows) + "\n")
    parquet = workspace.root / "b.parquet"
    pl.select(
        order_id=pl.lit("O-3"),
        customer_id=pl.lit("C-3"),
        ordered_at=pl.datetime(2026, 10, 3, time_zone="UTC"),
        amount=pl.lit(7.0),
        currency=pl.lit("USD"),
        country=pl.lit("US"),
        status=pl.lit("paid"),
    ).write_parquet(parquet)

    result = run_cli("run", "--json", env=workspace.env(f"{jsonl},{parquet}"))

    assert result.returncode == 0, result.stderr
    assert result.json()["counts"] == {"read": 3, "written": 2, "quarantined": 1, "filtered": 0}
    assert workspace.output_frame()["order_id"].to_list() == ["O-1", "O-3"]
