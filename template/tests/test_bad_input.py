"""Bad input: malformed rows, missing columns, empty input, fail rules, missing files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from .conftest import Workspace, run_cli

# Runs the pipeline end to end: outside the fast loop, `uv run pytest -m "not slow"`.
pytestmark = pytest.mark.slow

HEADER = "order_id,customer_id,ordered_at,amount,currency,country,status,coupon_code\n"
GOOD_ROW = "O-1,C-1,2026-10-01T08:00:00Z,12.50,EUR,DE,paid,\n"
# GOOD_ROW as a JSON record.
GOOD_RECORD: dict[str, object] = {
    "order_id": "O-1",
    "customer_id": "C-1",
    "ordered_at": "2026-10-01T08:00:00Z",
    "amount": 12.5,
    "currency": "EUR",
    "country": "DE",
    "status": "paid",
}


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def quarantined_by_row(report: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """The run's quarantine records by their `_source_row`."""
    frame = pl.read_parquet(str(report["quarantine"]))
    return {row["_source_row"]: row for row in frame.iter_rows(named=True)}


@pytest.mark.source_files
def test_records_that_are_not_rows_and_values_that_are_not_values_are_quarantined_raw(
    workspace: Workspace,
) -> None:
    source = write(
        workspace.root / "orders.csv",
        HEADER
        + GOOD_ROW
        + "O-2,C-2,not-a-time,12.50,EUR,DE,paid,\n"
        + "O-3,C-3,2026-10-01T08:00:00Z,12;50,EUR,DE,paid,\n"
        + "O-4,C-4,2026-10-01T08:00:00Z\n"
        + "O-5,C-5,2026-10-01T09:00:00Z,1.00,EUR,DE,paid,,extra,fields\n"
        + "O-6,C-6,2026-10-01T09:00:00Z,NaN,EUR,DE,paid,\n",
    )
    # Five bad rows of six: allowed here, to look at each (the threshold has its own tests).
    env = workspace.env(source, PIPELINE_MAX_QUARANTINE_RATIO="1")
    result = run_cli("run", "--json", env=env)

    assert result.returncode == 0, result.stderr  # one NaN never stops a run
    report = result.json()
    assert report["counts"] == {
        "read": 6,
        "written": 1,
        "superseded": 0,
        "quarantined": 5,
        "filtered": 0,
    }
    assert report["violations"]["RAGGED_RECORD"] == 2
    quarantine = quarantined_by_row(report)
    assert sorted(quarantine) == [2, 3, 4, 5, 6]
    assert "TYPE_MISMATCH:ordered_at" in quarantine[2]["_reasons"]
    assert quarantine[2]["_raw:ordered_at"] == "not-a-time"
    assert "TYPE_MISMATCH:amount" in quarantine[3]["_reasons"]
    assert quarantine[3]["_raw:amount"] == "12;50"
    assert quarantine[4]["_reasons"] == ["RAGGED_RECORD"]
    assert quarantine[4]["_raw_record"] == "O-4,C-4,2026-10-01T08:00:00Z"
    assert quarantine[5]["_reasons"] == ["RAGGED_RECORD"]
    assert quarantine[5]["_raw_record"].endswith(",,extra,fields")
    assert quarantine[6]["_raw:amount"] == "NaN"
    assert all(str(row["_source_file"]).endswith("orders.csv") for row in quarantine.values())


@pytest.mark.source_files
def test_broken_json_lines_and_bytes_that_are_not_utf8_are_quarantined_not_fatal(
    workspace: Workspace,
) -> None:
    good = json.dumps(GOOD_RECORD)
    path = workspace.root / "orders.jsonl"
    path.write_bytes(
        (good + "\n" + '{"order_id": "O-2", "amount": \n' + "[1, 2]\n\n").encode()
        + b'{"order_id": "O-\xff"}\n'
    )
    # Three bad records of four: allowed here (the threshold has its own tests).
    env = workspace.env(str(path), PIPELINE_MAX_QUARANTINE_RATIO="1")
    result = run_cli("run", "--json", env=env)

    assert result.returncode == 0, result.stderr
    report = result.json()
    assert report["counts"] == {
        "read": 4,
        "written": 1,
        "superseded": 0,
        "quarantined": 3,
        "filtered": 0,
    }
    quarantine = quarantined_by_row(report)  # a JSON Lines record's row is its line
    assert {row: record["_reasons"] for row, record in quarantine.items()} == {
        2: ["MALFORMED_JSON"],
        3: ["NOT_A_JSON_OBJECT"],
        5: ["INVALID_UTF8"],
    }
    assert quarantine[2]["_raw_record"] == '{"order_id": "O-2", "amount": '


@pytest.mark.source_files
@pytest.mark.parametrize(
    ("name", "content", "named"),
    [
        ("orders.csv", HEADER + '"O-1,C-1,2026-10-01T08:00:00Z,1,EUR,DE,paid,\n', "row 1"),
        ("orders.parquet", "this is not a Parquet file\n", "not a Parquet file"),
    ],
)
def test_a_file_that_cannot_be_read_fails_the_run_naming_it(
    workspace: Workspace, name: str, content: str, named: str
) -> None:
    source = write(workspace.root / name, content)
    result = run_cli("run", "--json", env=workspace.env(source))

    assert result.returncode == 65, result.stderr
    message = result.json()["error"]["message"]
    assert name in message and named in message
    assert workspace.target.commit_marker() is None


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
    assert result.json()["counts"] == {
        "read": 0,
        "written": 0,
        "superseded": 0,
        "quarantined": 0,
        "filtered": 0,
    }
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
    message = result.json()["error"]["message"]
    assert "AMOUNT_IMPLAUSIBLE" in message
    if workspace.origin.reads_files:  # the first offending row, by file and row
        assert "orders.csv row 2" in message
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
        GOOD_RECORD,
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
    pl.DataFrame(
        {
            "order_id": ["O-3", "O-4"],
            "customer_id": ["C-3", "C-4"],
            "ordered_at": [datetime(2026, 10, 3, tzinfo=UTC)] * 2,
            "amount": [7.0, float("nan")],  # a typed NaN is no more an amount than "NaN"
            "currency": ["USD", "USD"],
            "country": ["US", "US"],
            "status": ["paid", "paid"],
        }
    ).write_parquet(parquet)

    result = run_cli("run", "--json", env=workspace.env(f"{jsonl},{parquet}"))

    assert result.returncode == 0, result.stderr
    report = result.json()
    assert report["counts"] == {
        "read": 4,
        "written": 2,
        "superseded": 0,
        "quarantined": 2,
        "filtered": 0,
    }
    assert workspace.output_frame()["order_id"].to_list() == ["O-1", "O-3"]
    quarantine = pl.read_parquet(report["quarantine"]).sort("_source_file")
    assert quarantine["_raw:amount"].to_list() == ["oops", "NaN"]
