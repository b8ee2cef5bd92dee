"""End to end on the bundled sample: exact counts, the conservation law, reruns that change
nothing."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from .conftest import Workspace, run_cli
from .sample_expectations import expected_outcome

# Runs the pipeline end to end: outside the fast loop, `uv run pytest -m "not slow"`.
pytestmark = pytest.mark.slow


def test_the_sample_run_reports_exact_counts_that_balance(workspace: Workspace) -> None:
    result = run_cli("run", "--json", env=workspace.env())

    assert result.returncode == 0, result.stderr
    report = result.json()
    counts = report["counts"]
    assert report["status"] == "succeeded"
    assert counts == expected_outcome().counts
    assert counts["read"] == (
        counts["written"] + counts["superseded"] + counts["quarantined"] + counts["filtered"]
    )
    assert counts["quarantined"] > 0
    assert report["output"] == workspace.target.location
    assert report["violations"] == expected_outcome().violations
    per_date = workspace.output_frame().group_by("order_date").len()
    assert {str(day): n for day, n in per_date.iter_rows()} == expected_outcome().written_per_date


def test_the_manifest_matches_the_output_and_the_quarantine(workspace: Workspace) -> None:
    report = run_cli("run", "--json", env=workspace.env()).json()

    manifest = json.loads(Path(report["manifest"]).read_text())
    assert manifest["status"] == "succeeded"
    assert manifest["counts"] == report["counts"]
    assert workspace.output_frame().height == manifest["counts"]["written"]
    quarantine = pl.read_parquet(report["quarantine"])
    assert quarantine.height == manifest["counts"]["quarantined"]
    assert quarantine["_run_id"].unique().to_list() == [report["run_id"]]
    assert (quarantine["_reasons"].list.len() >= 1).all()
    assert quarantine["_source_file"].str.contains(workspace.origin.sample_coordinates).all()
    assert (quarantine["_source_row"] >= 1).all()


def test_a_second_run_of_the_same_input_commits_nothing(workspace: Workspace) -> None:
    first = run_cli("run", "--json", env=workspace.env())
    files_after_first = workspace.output_files()
    version = workspace.target.commit_marker()
    second = run_cli("run", "--json", env=workspace.env())

    assert first.returncode == second.returncode == 0
    assert first.json()["run_id"] != second.json()["run_id"]
    assert files_after_first
    assert workspace.output_files() == files_after_first
    assert workspace.target.commit_marker() == version


def test_the_human_summary_names_counts_and_locations(workspace: Workspace) -> None:
    result = run_cli("run", env=workspace.env())

    assert result.returncode == 0, result.stderr
    labels = ("read", "written", "superseded", "quarantined", "filtered", "duration", "output:")
    for label in labels:
        assert label in result.stdout
    assert f"{expected_outcome().counts['read']:,}" in result.stdout
    assert workspace.target.location in result.stdout
