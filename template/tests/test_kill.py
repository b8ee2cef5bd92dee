"""A run killed with SIGKILL in the middle of loading leaves no visible partial output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl

from .conftest import PROJECT_ROOT, Workspace, run_cli

ROWS = 2_000_000


def write_large_input(path: Path) -> str:
    """Two million valid orders over a year of days: enough for a load that takes a while."""
    index = pl.int_range(ROWS, eager=False)
    pl.select(
        order_id=pl.format("O-{}", index),
        customer_id=pl.format("C-{}", index % 50_000),
        ordered_at=pl.datetime(2025, 1, 1, time_zone="UTC") + pl.duration(minutes=index % 525_600),
        amount=(index % 10_000).cast(pl.Float64) / 100,
        currency=pl.lit("EUR"),
        country=pl.lit("DE"),
        status=pl.lit("paid"),
        coupon_code=pl.lit(None, dtype=pl.String),
    ).write_parquet(path)
    return str(path)


def kill_once_loading(workspace: Workspace, source: str) -> None:
    """Start a run and SIGKILL it as soon as it starts writing its staging folder."""
    process = subprocess.Popen(
        [sys.executable, "-m", "src.cli", "run", "--json"],
        cwd=PROJECT_ROOT,
        env=workspace.env(source),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 600  # the engine may take a while to start on a busy machine
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if workspace.target.staging_started():
                os.kill(process.pid, signal.SIGKILL)
                break
            time.sleep(0.005)
    finally:
        returncode = process.wait(timeout=60)
    assert returncode == -signal.SIGKILL, "the run finished before it could be killed mid-load"


def test_a_killed_run_leaves_the_committed_output_as_it_was_and_a_rerun_completes(
    workspace: Workspace, tmp_path: Path
) -> None:
    assert run_cli("run", "--json", env=workspace.env()).returncode == 0
    committed_before = workspace.output_files()
    marker_before = workspace.target.commit_marker()
    large = write_large_input(tmp_path / "large.parquet")

    kill_once_loading(workspace, large)

    assert workspace.target.commit_marker() == marker_before
    assert workspace.output_files() == committed_before
    assert len(list(workspace.runs_dir.glob("*/manifest.json"))) == 1  # only the first run's
    rerun = run_cli("run", "--json", env=workspace.env(large))
    assert rerun.returncode == 0, rerun.stderr
    assert workspace.target.staging_leftovers() == []

    clean = Workspace(tmp_path / "clean", tmp_path / "clean" / "out", tmp_path / "clean" / "runs")
    assert run_cli("run", "--json", env=clean.env()).returncode == 0
    assert run_cli("run", "--json", env=clean.env(large)).returncode == 0
    assert workspace.output_files() == clean.output_files()
