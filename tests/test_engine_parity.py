"""Every engine gives the same result on the same input (slow: renders and runs each one).

One project per engine copier.yml offers, rendered with the other answers at their defaults
and installed without its dev group (the pipeline needs only its runtime packages). Each runs
the bundled sample, then reruns one daily partition (the replace-by-source-partition path).
After each step the committed rows, the quarantined rows with their reason codes and source
coordinates, and the manifest's counts and violation counts must be identical across
engines. Rows are compared after sorting, in the contract's logical types: engines may
store a string as large_string or a count as int32, but never a different value.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import pytest
from engine_projects import ENGINES, REFERENCE_ENGINE
from installed_project import RenderedProject, tail
from polars.testing import assert_frame_equal

# One worker installs the four projects once (shared with the conformance corpus).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("engine_parity"), pytest.mark.cost(240)]

REFERENCE = REFERENCE_ENGINE
RERUN_PARTITION = "2026-10-02"

# Logical types of every column an engine writes: the orders contract plus what the
# transforms derive, the source partition, and the quarantine's own columns.
LOGICAL_TYPES: dict[str, pl.DataType] = {
    "order_id": pl.String(),
    "customer_id": pl.String(),
    "ordered_at": pl.Datetime("us", "UTC"),
    "amount": pl.Float64(),
    "currency": pl.String(),
    "country": pl.String(),
    "status": pl.String(),
    "coupon_code": pl.String(),
    "order_date": pl.Date(),
    "amount_eur": pl.Float64(),
    "source_partition": pl.Date(),
    "_source_file": pl.String(),
    "_source_row": pl.Int64(),
    "_reasons": pl.List(pl.String()),
    "_raw:amount": pl.String(),
    "_raw:ordered_at": pl.String(),
    "_raw_record": pl.String(),
}
# Differs by run, not by engine.
RUN_SPECIFIC = ("_run_id",)


@pytest.fixture(scope="module")
def projects(engine_projects: dict[str, RenderedProject]) -> dict[str, RenderedProject]:
    """Each engine's project, rendered and installed once per session."""
    return engine_projects


def run_json(project: RenderedProject, *args: str) -> dict[str, Any]:
    """`python -m src.cli run --json ARGS` in the project; its report."""
    result = project.run(".venv/bin/python", "-m", "src.cli", "run", "--json", *args)
    assert result.returncode == 0, tail(result.stdout + result.stderr)
    report: dict[str, Any] = json.loads(result.stdout)
    assert report["status"] == "succeeded", report
    return report


def canonical(frame: pl.DataFrame) -> pl.DataFrame:
    """Columns in name order, in their logical types, rows in one total order."""
    unknown = sorted(set(frame.columns) - set(LOGICAL_TYPES) - set(RUN_SPECIFIC))
    assert not unknown, f"columns no engine should write: {unknown}"
    columns = sorted(name for name in frame.columns if name in LOGICAL_TYPES)
    typed = frame.select(pl.col(name).cast(LOGICAL_TYPES[name]) for name in columns)
    keys = [name for name in ("order_id", "_source_file", "_source_row") if name in columns]
    return typed.sort([*keys, *[c for c in columns if c not in keys and c != "_reasons"]])


def written_rows(project: RenderedProject, report: dict[str, Any]) -> pl.DataFrame:
    """The committed Delta table readers see, read through its log."""
    table = project.root / report["output"]
    return canonical(pl.read_delta(str(table)))


def quarantined_rows(project: RenderedProject, report: dict[str, Any]) -> pl.DataFrame:
    """The run's quarantine file, source files made relative to the project."""
    frame = pl.read_parquet(project.root / report["quarantine"])
    root = str(project.root.resolve()) + "/"
    return canonical(
        frame.with_columns(pl.col("_source_file").cast(pl.String).str.strip_prefix(root))
    )


def manifest_figures(project: RenderedProject, report: dict[str, Any]) -> dict[str, Any]:
    """What a run's manifest says about the data, not about the run (ids, times, paths)."""
    manifest = json.loads((project.root / report["manifest"]).read_text(encoding="utf-8"))
    return {
        "counts": manifest["counts"],
        "violations": manifest["violations"],
        "status": manifest["status"],
    }


def assert_same_results(
    projects: dict[str, RenderedProject], reports: dict[str, dict[str, Any]]
) -> None:
    """Every engine's output, quarantine and manifest equal the reference engine's."""
    reference = projects[REFERENCE], reports[REFERENCE]
    expected_rows = written_rows(*reference)
    expected_quarantine = quarantined_rows(*reference)
    expected_manifest = manifest_figures(*reference)
    assert expected_rows.height > 0 and expected_quarantine.height > 0
    for engine in ENGINES:
        if engine == REFERENCE:
            continue
        project, report = projects[engine], reports[engine]
        assert manifest_figures(project, report) == expected_manifest, engine
        assert_frame_equal(written_rows(project, report), expected_rows, check_exact=True)
        assert_frame_equal(quarantined_rows(project, report), expected_quarantine, check_exact=True)


def test_offers_more_than_one_engine() -> None:
    # The parity test means nothing with one engine; copier.yml offers four.
    assert len(ENGINES) > 1 and REFERENCE in ENGINES


def test_every_engine_gives_identical_results_on_the_sample_and_a_partition_rerun(
    projects: dict[str, RenderedProject],
) -> None:
    full = {engine: run_json(project) for engine, project in projects.items()}
    assert_same_results(projects, full)
    rerun = {
        engine: run_json(project, "--partition", RERUN_PARTITION)
        for engine, project in projects.items()
    }
    assert_same_results(projects, rerun)
