# /// script
# requires-python = ">=3.11"
# dependencies = [
#     "copier>=9.19",
#     "copier-template-extensions>=0.3.4",
#     "deltalake>=1.6,<2",
#     "polars>=1.30",
#     "psutil>=6.0",
# ]
# ///
"""Benchmark harness: a rendered pipeline next to a hand-written script in the same engine.

    uv run python benchmarks/run_benchmark.py [--engine E] [--rows N] [--repeat R]
        [--scenario full|rerun] [--template REPO]

Steps: render the pipeline with `engine=E` (default polars) from the working tree
(uncommitted edits included; `--template REPO` renders another checkout, e.g. a git worktree
of an earlier commit, and takes its benchmarks/baseline_<E>.py as the yardstick), `uv sync`
it, generate the dataset once (cached in benchmarks/.work/), then run the scenario with the
rendered project's interpreter, every run a child process of this one. For every run it
measures wall time and the peak RSS of the child's process tree (`os.wait4` rusage, plus a
psutil sample of the whole tree every 50 ms; the larger is reported).

- `full` (default): the pipeline and the baseline alternately, each into a fresh folder;
  then both sides' counts and written rows must agree; it prints min/median wall time,
  rows/s, peak RSS and the pipeline/baseline ratios against the targets.
- `rerun`: per round, the pipeline's full run into a fresh destination, then again into the
  same destination with the same input (it must commit nothing: the table's version does
  not move), then with 1% of the keys changed (`changed_dataset`); then the baseline on the
  changed input into a fresh folder, whose counts and rows the pipeline's table must now
  hold. It prints each run's wall time and peak RSS and what the table's history says each
  run did (the commit's operation and its row metrics, or "no commit").

Written rows are read from either layout: a Delta Lake table (`_delta_log/`), the snapshot
destination of earlier template versions (`current/`, hive Parquet), or hive Parquet.

Exit status: 0 when every run succeeded and the outputs agree, 1 otherwise. The performance
targets are reported as PASS/FAIL lines but never change the exit status: timings on a shared
machine are evidence for a human, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl
import psutil
from deltalake import DeltaTable
from deltalake.exceptions import DeltaError, TableNotFoundError

REPO = Path(__file__).resolve().parent.parent
BENCHMARKS = REPO / "benchmarks"
GENERATOR = BENCHMARKS / "generate_orders.py"
ENGINES = ("polars", "pandas", "spark", "dask")


def baseline_script(engine: str, benchmarks: Path = BENCHMARKS) -> Path:
    """The hand-written script in `engine` the rendered pipeline is measured against."""
    return benchmarks / f"baseline_{engine}.py"


DEFAULT_WORKDIR = BENCHMARKS / ".work"

# Pipeline wall time <= this many times the hand-written script's, per engine (issue 4).
WALL_TARGETS = {"polars": 1.2, "pandas": 1.5, "spark": 1.5, "dask": 1.5}
RSS_TARGET = 1.5  # pipeline peak RSS <= 1.5x the baseline's
SAMPLE_INTERVAL_S = 0.05
COUNT_KEYS = ("read", "written", "superseded", "quarantined", "filtered")
# Trees before issue 13 count no superseded rows (their transforms filtered the copies).
OPTIONAL_COUNTS = {"superseded": 0}
SCENARIOS = ("full", "rerun")
# The rerun scenario's changed input: 1% of the keys, chosen by the order id's digits so the
# same dataset always changes the same way. Ids ending in 00 change; of those, an even
# hundreds digit scales the amount (the MERGE updates the row) and an odd one renames the
# order ("O-" -> "N-": the MERGE inserts the new key and deletes the old one).
CHANGE_RULE = "order_id ends in 00: even hundreds digit amount*1.1, odd O- -> N-"
# The written rows both sides must agree on: the source columns plus the two derived ones.
OUTPUT_COLUMNS = {
    "order_id": pl.String,
    "customer_id": pl.String,
    "ordered_at": pl.Datetime("us", "UTC"),
    "amount": pl.Float64,
    "currency": pl.String,
    "country": pl.String,
    "status": pl.String,
    "coupon_code": pl.String,
    "order_date": pl.Date,
    "amount_eur": pl.Float64,
}
SKIP_WHEN_COPYING = {".git", ".venv", "node_modules"}
GIT_IDENTITY = (
    "-c",
    "user.name=Benchmark",
    "-c",
    "user.email=benchmark@example.invalid",
    "-c",
    "commit.gpgsign=false",
    "-c",
    "tag.gpgsign=false",
    "-c",
    "init.defaultBranch=main",
    "-c",
    "core.hooksPath=/dev/null",
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_checked(cmd: list[str], *, cwd: Path | None = None, env: dict | None = None) -> str:
    """Run a setup command; on failure show its output and stop."""
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(
            f"command failed ({result.returncode}): {shlex.join(cmd)}\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result.stdout


# ----------------------------------------------------------------------------
# (a) render, (b) uv sync
# ----------------------------------------------------------------------------
def snapshot_working_tree(destination: Path, repo: Path = REPO) -> Path:
    """Copy what git would commit (tracked + untracked, minus ignored) into a fresh repo.

    Copier renders from a git ref; committing a copy makes it render the working tree as it
    is on disk, uncommitted edits of other engineers included. `repo` may be any checkout of
    this repository, a git worktree of an earlier commit included.
    """
    listing = run_checked(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=repo
    )
    for name in filter(None, listing.split("\0")):
        relative = Path(name)
        origin = repo / relative
        if SKIP_WHEN_COPYING.intersection(relative.parts) or not origin.exists():
            continue  # deleted in the working tree but still in the index
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(origin, target, follow_symlinks=False)
    git = ["git", *GIT_IDENTITY]
    run_checked([*git, "init", "--quiet"], cwd=destination)
    run_checked([*git, "add", "--all"], cwd=destination)
    run_checked([*git, "commit", "--quiet", "--no-verify", "-m", "benchmark"], cwd=destination)
    run_checked([*git, "tag", "v0.0.0"], cwd=destination)
    return destination


def copier_command(override: str | None) -> list[str]:
    """copier from this interpreter (which has the template's Jinja extensions) if it can."""
    if override:
        return shlex.split(override)
    if importlib.util.find_spec("copier") is not None:
        return [sys.executable, "-m", "copier"]
    found = shutil.which("copier")
    if found is None:
        raise SystemExit("copier not found: run via `uv run` from the repo, or pass --copier")
    return [found]


def tree_label(repo: Path) -> str:
    """A suffix for the folders of a run from another checkout ("" for this one), so the
    renders and runs of two trees can sit side by side in one workdir."""
    return "" if repo.resolve() == REPO else f"-{repo.resolve().name}"


def template_repo(path: Path) -> Path:
    """The checkout `--template` names, checked to hold a Copier template."""
    repo = path.resolve()
    if not (repo / "copier.yml").is_file() or not (repo / "template").is_dir():
        raise SystemExit(f"--template {path}: no copier.yml and template/ there")
    return repo


def render_pipeline(
    workdir: Path,
    copier: list[str],
    engine: str,
    destination: str = "local",
    repo: Path = REPO,
) -> Path:
    """Render `repo`'s pipeline (default: this working tree) for `engine` (and a non-default
    `destination`)."""
    suffix = ("" if destination == "local" else f"-{destination}") + tree_label(repo)
    template = workdir / f"template-snapshot{suffix}"
    project = workdir / f"pipeline-{engine}{suffix}"
    for path in (template, project):
        shutil.rmtree(path, ignore_errors=True)
    template.mkdir(parents=True)
    snapshot_working_tree(template, repo)
    started = time.perf_counter()
    run_checked(
        [
            *copier,
            *("copy", "--trust", "--defaults", "--vcs-ref", "HEAD"),
            *("--data", f"engine={engine}", "--data", f"destination={destination}"),
            *(str(template), str(project)),
        ]
    )
    log(
        f"rendered the {engine} pipeline of {repo} in {time.perf_counter() - started:.1f} s: "
        f"{project}"
    )
    return project


def uv_sync(project: Path) -> Path:
    """Install the rendered project as its image does: every module compiled to bytecode
    ahead of time (the Dockerfile sets UV_COMPILE_BYTECODE=1), so neither side measures
    Python compiling its imports where PYTHONDONTWRITEBYTECODE is set (measured here:
    ~0.6 s of a pipeline run, ~0.3 s of the baseline's). Both sides use this interpreter."""
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}  # not the repo's venv
    started = time.perf_counter()
    run_checked([uv_binary(), "sync", "--quiet", "--compile-bytecode"], cwd=project, env=env)
    python = project / ".venv" / "bin" / "python"
    # The project's own modules (an editable install: not in site-packages).
    run_checked([str(python), "-m", "compileall", "-q", "src"], cwd=project, env=env)
    log(f"uv sync in {time.perf_counter() - started:.1f} s")
    log(f"rendered interpreter: {python}")
    return python


def uv_binary() -> str:
    found = shutil.which("uv")
    if found is None:
        raise SystemExit("uv not found on PATH")
    return found


# ----------------------------------------------------------------------------
# (c) the dataset, generated once
# ----------------------------------------------------------------------------
def dataset(workdir: Path, rows: int, seed: int) -> Path:
    """The cached Parquet dataset; a change to the generator makes a new one."""
    digest = hashlib.sha256(GENERATOR.read_bytes()).hexdigest()[:10]
    path = workdir / "data" / f"orders-{rows}-seed{seed}-{digest}.parquet"
    if path.exists():
        log(f"dataset (cached): {path}")
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    if importlib.util.find_spec("numpy") is not None:
        command = [sys.executable, str(GENERATOR)]
    else:  # the generator's inline metadata brings numpy
        command = [uv_binary(), "run", "--quiet", "--script", str(GENERATOR)]
    args = ["--rows", str(rows), "--seed", str(seed), "--out", str(partial)]
    log(f"generating {rows:,} rows ...")
    started = time.perf_counter()
    run_checked([*command, *args])
    partial.replace(path)  # a half-written file never looks cached
    for stale in path.parent.glob(f"orders-{rows}-seed{seed}-*.parquet"):
        if stale != path:  # made by an older generator
            stale.unlink()
    log(f"dataset generated in {time.perf_counter() - started:.1f} s: {path}")
    return path


def changed_dataset(source: Path) -> Path:
    """`source` with 1% of its keys changed by `CHANGE_RULE`, same rows in the same order
    otherwise (cached beside it): the input of the rerun scenario's second run."""
    digest = hashlib.sha256(CHANGE_RULE.encode()).hexdigest()[:6]
    path = source.with_name(f"{source.stem}-changed-{digest}.parquet")
    if path.exists():
        log(f"changed dataset (cached): {path}")
        return path
    order_id = pl.col("order_id")
    chosen = order_id.str.ends_with("00")
    renamed = chosen & order_id.str.slice(-3, 1).is_in(list("13579"))
    partial = path.with_suffix(".partial")
    pl.scan_parquet(source).with_columns(
        amount=pl.when(chosen & renamed.not_())
        .then((pl.col("amount") * 1.1).round(2))
        .otherwise(pl.col("amount")),
        order_id=pl.when(renamed).then("N-" + order_id.str.slice(2)).otherwise(order_id),
    ).sink_parquet(partial, compression="zstd")
    partial.replace(path)
    for stale in path.parent.glob(f"{source.stem}-changed-*.parquet"):
        if stale != path:  # made by an older rule
            stale.unlink()
    log(f"changed dataset written: {path}")
    return path


# ----------------------------------------------------------------------------
# (d) measured runs
# ----------------------------------------------------------------------------
@dataclass
class Run:
    side: str
    index: int
    wall_s: float
    exit_code: int
    rusage_maxrss_bytes: int
    sampled_peak_bytes: int
    out_dir: str
    report: dict | None = None
    stderr_tail: str = ""
    step: str = ""  # the rerun scenario's step: "full", "unchanged", "changed"
    table: dict | None = None  # what the destination's history says this run did

    @property
    def peak_rss_bytes(self) -> int:
        return max(self.rusage_maxrss_bytes, self.sampled_peak_bytes)


class TreeSampler(threading.Thread):
    """Sums the RSS of a process and all its descendants every 50 ms; keeps the maximum."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self.stopped.is_set():
            total = 0
            try:
                for process in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):  # a child that just exited
                        total += process.memory_info().rss
            except psutil.Error:
                return  # the root is gone
            self.peak = max(self.peak, total)
            self.stopped.wait(SAMPLE_INTERVAL_S)


def measure(
    side: str,
    index: int,
    cmd: list[str],
    env: dict,
    cwd: Path,
    out_dir: Path,
    logs: Path | None = None,
) -> Run:
    """Run one child to completion; wall time from spawn to reap, peak RSS of its tree.

    Its stderr goes to `logs` (default: `<out_dir>.log` beside it), its stdout beside that."""
    logs = logs or out_dir.parent / f"{out_dir.name}.log"
    with (logs.with_suffix(".out")).open("wb") as stdout, logs.open("wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=stdout, stderr=stderr)
        sampler = TreeSampler(process.pid)
        sampler.start()
        # wait4 rather than Popen.wait: it returns the child's rusage (ru_maxrss, in KiB on
        # Linux, covers the child and the descendants it waited for).
        _, status, rusage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        sampler.stopped.set()
        sampler.join()
    output = logs.with_suffix(".out").read_text(errors="replace")
    return Run(
        side=side,
        index=index,
        wall_s=wall,
        exit_code=process.returncode,
        rusage_maxrss_bytes=rusage.ru_maxrss * 1024,
        sampled_peak_bytes=sampler.peak,
        out_dir=str(out_dir),
        report=last_json_object(output),
        stderr_tail=logs.read_text(errors="replace")[-2000:],
    )


def last_json_object(text: str) -> dict | None:
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return None


@dataclass
class Sides:
    """How to start each side and where its written dataset ends up."""

    python: Path
    engine: str
    source: Path
    pipeline_project: Path | None
    runs_root: Path
    benchmarks: Path = BENCHMARKS  # where baseline_<engine>.py is

    def pipeline(self, index: int) -> tuple[list[str], dict, Path, Path]:
        """A pipeline run reading the dataset into a fresh folder."""
        out = self.fresh(f"pipeline-{index}")
        return (*self.pipeline_into(out, self.source), out)

    def pipeline_into(self, out: Path, source: Path) -> tuple[list[str], dict, Path]:
        """A pipeline run reading `source` into `out/destination` (kept if it exists)."""
        assert self.pipeline_project is not None
        env = os.environ | {
            "PIPELINE_SOURCE__PATH": str(source),
            "PIPELINE_DESTINATION__PATH": str(out / "destination"),
            "PIPELINE_RUNS_DIR": str(out / "runs"),
        }
        env.pop("VIRTUAL_ENV", None)
        cmd = [str(self.python), "-m", "src.cli", "run", "--json"]
        return cmd, env, self.pipeline_project

    def baseline(
        self, index: int, source: Path | None = None, name: str = "baseline"
    ) -> tuple[list[str], dict, Path, Path]:
        """A baseline run reading `source` (default: the dataset) into a fresh folder."""
        out = self.fresh(f"{name}-{index}")
        script = baseline_script(self.engine, self.benchmarks)
        source = source or self.source
        cmd = [str(self.python), str(script), "--source", str(source), "--out", str(out)]
        return cmd, dict(os.environ), out, out

    def fresh(self, name: str) -> Path:
        path = self.runs_root / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path


def dataset_dir(run: Run) -> Path:
    """Where a run's written rows are: the pipeline's destination, the baseline's dataset."""
    out = Path(run.out_dir)
    return out / "destination" if run.side == "pipeline" else out / "dataset"


def run_counts(run: Run) -> dict | None:
    """The totals from either side's JSON (the pipeline nests them under "counts")."""
    report = run.report or {}
    counts = OPTIONAL_COUNTS | report.get("counts", report)
    if not all(key in counts for key in COUNT_KEYS):
        return None
    return {key: counts[key] for key in COUNT_KEYS}


def run_reasons(run: Run) -> dict[str, int]:
    """Per-code counts: quarantine reasons and warnings (the pipeline calls them violations)."""
    report = run.report or {}
    if "violations" in report:
        return dict(report["violations"])
    return {**report.get("reasons", {}), **report.get("warnings", {})}


# ----------------------------------------------------------------------------
# (e) same counts, same rows
# ----------------------------------------------------------------------------
def layout(directory: Path) -> str:
    """How a destination holds its rows: "delta" (a Delta Lake table), "snapshots" (the
    snapshot destination before issue 13: `current/` -> a hive-partitioned snapshot),
    "parquet" (hive-partitioned files) or "absent"."""
    if (directory / "_delta_log").is_dir():
        return "delta"
    if (directory / "current").exists():
        return "snapshots"
    return "parquet" if directory.is_dir() else "absent"


def read_written_rows(directory: Path) -> tuple[pl.DataFrame, list[str]]:
    """A destination's current rows (any `layout`), in canonical column types."""
    kind = layout(directory)
    if kind == "delta":
        frame = pl.read_delta(str(directory))
    else:
        root = directory / "current" if kind == "snapshots" else directory
        files = sorted(root.resolve().glob("**/*.parquet"))
        if not files:
            raise ValueError(f"no Parquet files under {root}")
        frame = pl.scan_parquet(files, hive_partitioning=True).collect()
    missing = [name for name in OUTPUT_COLUMNS if name not in frame.columns]
    if missing:
        raise ValueError(f"{directory} lacks columns {missing}")
    extra = [name for name in frame.columns if name not in OUTPUT_COLUMNS]
    # Enum/Categorical strings, other time units: compare values, not physical types.
    frame = frame.select(pl.col(name).cast(dtype) for name, dtype in OUTPUT_COLUMNS.items())
    return frame.sort("order_id", nulls_last=True, maintain_order=True), extra


def compare_outputs(pipeline: Run, baseline: Run) -> list[str]:
    """Problems found (empty when both sides agree); counts first, then every written row."""
    problems = []
    p_counts, b_counts = run_counts(pipeline), run_counts(baseline)
    if p_counts is None:
        problems.append(f"pipeline printed no counts ({', '.join(COUNT_KEYS)}) in its JSON")
    elif p_counts != b_counts:
        problems.append(f"counts differ: pipeline {p_counts} baseline {b_counts}")
    try:
        p_rows, extra = read_written_rows(dataset_dir(pipeline))
        b_rows, _ = read_written_rows(dataset_dir(baseline))
    except (ValueError, OSError, DeltaError, pl.exceptions.PolarsError) as error:
        return [*problems, f"cannot read the written rows: {error}"]
    if extra:
        log(f"note: the pipeline's dataset has extra columns, not compared: {extra}")
    if p_rows.height != b_rows.height:
        problems.append(f"written rows: pipeline {p_rows.height:,} baseline {b_rows.height:,}")
    if not p_rows.equals(b_rows):
        problems.append("written rows differ: " + describe_difference(p_rows, b_rows))
    return problems


def describe_difference(pipeline: pl.DataFrame, baseline: pl.DataFrame) -> str:
    """Which order_ids are on one side only, and which columns differ on shared ids."""
    only_p = pipeline.join(baseline, on="order_id", how="anti", nulls_equal=True).height
    only_b = baseline.join(pipeline, on="order_id", how="anti", nulls_equal=True).height
    joined = pipeline.join(baseline, on="order_id", how="inner", suffix="_baseline")
    differing = {
        name: joined.select(pl.col(name).ne_missing(pl.col(f"{name}_baseline")).sum()).item()
        for name in OUTPUT_COLUMNS
        if name != "order_id"
    }
    differing = {name: n for name, n in differing.items() if n}
    return (
        f"{only_p:,} order_ids only in the pipeline's output, {only_b:,} only in the "
        f"baseline's; rows differing per column on shared order_ids: {differing}"
    )


# ----------------------------------------------------------------------------
# (f) the table
# ----------------------------------------------------------------------------
@dataclass
class Summary:
    side: str
    runs: int
    wall_min_s: float
    wall_median_s: float
    rows_per_s_median: float
    peak_rss_mib: float
    walls_s: list[float] = field(default_factory=list)


def summarise(side: str, runs: list[Run], rows: int) -> Summary:
    walls = [r.wall_s for r in runs]
    median = statistics.median(walls)
    return Summary(
        side=side,
        runs=len(runs),
        wall_min_s=min(walls),
        wall_median_s=median,
        rows_per_s_median=rows / median,
        peak_rss_mib=max(r.peak_rss_bytes for r in runs) / 2**20,
        walls_s=[round(w, 3) for w in walls],
    )


def print_table(summaries: list[Summary], rows: int, engine: str) -> list[str]:
    print()
    print(f"{engine}: {rows:,} rows, {summaries[0].runs} run(s) per side")
    header = (
        f"{'side':<10}{'wall min s':>12}{'wall median s':>15}{'rows/s':>14}{'peak RSS MiB':>14}"
    )
    print(header)
    print("-" * len(header))
    for s in summaries:
        print(
            f"{s.side:<10}{s.wall_min_s:>12.2f}{s.wall_median_s:>15.2f}"
            f"{s.rows_per_s_median:>14,.0f}{s.peak_rss_mib:>14,.0f}"
        )
    if len(summaries) < 2:
        return []
    pipeline, baseline = summaries
    wall_ratio = pipeline.wall_median_s / baseline.wall_median_s
    wall_min_ratio = pipeline.wall_min_s / baseline.wall_min_s
    rss_ratio = pipeline.peak_rss_mib / baseline.peak_rss_mib
    wall_target = WALL_TARGETS[engine]
    lines = [
        f"wall (median) pipeline/baseline: {wall_ratio:.2f}x  target <= {wall_target}x  "
        f"{'PASS' if wall_ratio <= wall_target else 'FAIL'}  (min/min: {wall_min_ratio:.2f}x)",
        f"peak RSS      pipeline/baseline: {rss_ratio:.2f}x  target <= {RSS_TARGET}x  "
        f"{'PASS' if rss_ratio <= RSS_TARGET else 'FAIL'}",
    ]
    print()
    print("\n".join(lines))
    return lines


# ----------------------------------------------------------------------------
# (g) what a run did to the destination
# ----------------------------------------------------------------------------
@dataclass(frozen=True)
class TableState:
    """The destination's current version: a Delta version, the snapshot `current` points
    to (snapshot layout), or "" when there is nothing yet."""

    layout: str
    version: str


def table_state(directory: Path) -> TableState:
    kind = layout(directory)
    if kind == "delta":
        try:
            return TableState(kind, str(DeltaTable(str(directory)).version()))
        except TableNotFoundError:
            return TableState("absent", "")
    if kind == "snapshots":
        return TableState(kind, (directory / "current").resolve().name)
    return TableState(kind, "")


# Delta commit metrics worth a column, by operation (delta-rs names), as short labels.
MERGE_METRICS = {
    "num_target_rows_inserted": "inserted",
    "num_target_rows_updated": "updated",
    "num_target_rows_deleted": "deleted",
    "num_target_rows_copied": "copied",
    "num_target_files_added": "files added",
    "num_target_files_removed": "files removed",
}
WRITE_METRICS = {"num_added_rows": "rows added", "num_added_files": "files added"}


def commits_between(directory: Path, before: TableState, after: TableState) -> list[dict]:
    """The Delta commits made after `before`, oldest first: version, operation and the
    metrics that say what each did (rows inserted, updated, deleted, copied; files)."""
    if after.layout != "delta" or after.version == before.version:
        return []
    since = int(before.version) if before.layout == "delta" and before.version else -1
    commits = []
    for commit in reversed(DeltaTable(str(directory)).history()):
        if int(commit.get("version", -1)) <= since:
            continue
        metrics = commit.get("operationMetrics") or {}
        if isinstance(metrics, str):  # older delta-rs versions hand out JSON text
            metrics = json.loads(metrics)
        wanted = MERGE_METRICS if commit.get("operation") == "MERGE" else WRITE_METRICS
        commits.append(
            {
                "version": int(commit["version"]),
                "operation": commit.get("operation", "?"),
                "metrics": {
                    label: metrics[name] for name, label in wanted.items() if name in metrics
                },
                "operation_metrics": metrics,
            }
        )
    return commits


def what_changed(directory: Path, before: TableState) -> dict:
    """What a run did to the destination, as the table itself tells it."""
    after = table_state(directory)
    change: dict[str, object] = {
        "layout": after.layout,
        "before": before.version,
        "after": after.version,
    }
    if after.layout == "delta":
        change["commits"] = commits_between(directory, before, after)
    return change


def describe_change(change: dict | None) -> str:
    """One line for the table: "v3 MERGE: 10 inserted, ...", "no commit (v2)", ..."""
    if not change:
        return "?"
    if change["before"] == change["after"]:
        return f"no commit (version {change['after'] or '-'})"
    if change["layout"] == "snapshots":
        return f"new snapshot {change['after']}"
    parts = []
    for commit in change.get("commits", []):
        figures = ", ".join(f"{value:,} {label}" for label, value in commit["metrics"].items())
        parts.append(
            f"v{commit['version']} {commit['operation']}" + (f": {figures}" if figures else "")
        )
    return "; ".join(parts) or f"version {change['before'] or '-'} -> {change['after']}"


# ----------------------------------------------------------------------------
# (h) the scenarios
# ----------------------------------------------------------------------------
def report_run(run: Run) -> bool:
    """Log one run's figures; True when it failed (its stderr tail is shown)."""
    label = f"{run.side} {run.step}".strip()
    log(
        f"{label} #{run.index}: {run.wall_s:.2f} s, peak RSS {run.peak_rss_bytes / 2**20:,.0f}"
        f" MiB (wait4 {run.rusage_maxrss_bytes / 2**20:,.0f}, sampled tree "
        f"{run.sampled_peak_bytes / 2**20:,.0f}), exit {run.exit_code}"
        + (f"; {describe_change(run.table)}" if run.table is not None else "")
    )
    if run.exit_code != 0:
        log(f"{label} failed:\n{run.stderr_tail}")
    return run.exit_code != 0


def full_scenario(sides: Sides, order: list[str], repeat: int) -> tuple[dict[str, list[Run]], bool]:
    """Both sides alternately, each into a fresh folder; stops at the first failed run."""
    runs: dict[str, list[Run]] = {side: [] for side in order}
    failed = False
    for index in range(1, repeat + 1):
        # Alternate which side goes first, so neither always inherits the other's page cache.
        for side in order if index % 2 else order[::-1]:
            cmd, env, cwd, out = getattr(sides, side)(index)
            run = measure(side, index, cmd, env, cwd, out)
            runs[side].append(run)
            failed = report_run(run) or failed
            if index > 1:  # keep only the newest output per side: 10M rows is ~150 MB a run
                shutil.rmtree(Path(runs[side][-2].out_dir), ignore_errors=True)
        if failed:  # the round is finished, so the other side's figures still show
            break
    return runs, failed


RERUN_STEPS = {  # step -> its label in the table
    "full": "pipeline full run",
    "unchanged": "pipeline rerun, same input",
    "changed": "pipeline rerun, 1% changed",
}


def rerun_scenario(
    sides: Sides, changed: Path, repeat: int
) -> tuple[dict[str, list[Run]], bool, list[str]]:
    """Per round: the pipeline's full run into a fresh destination, a rerun of the same input
    (it must commit nothing), a rerun with 1% of the keys changed, then the baseline on the
    changed input; the pipeline's table must then hold what the baseline wrote."""
    runs: dict[str, list[Run]] = {step: [] for step in [*RERUN_STEPS, "baseline"]}
    problems: list[str] = []
    for index in range(1, repeat + 1):
        out = sides.fresh(f"rerun-{index}")
        destination = out / "destination"
        for step, source in (
            ("full", sides.source),
            ("unchanged", sides.source),
            ("changed", changed),
        ):
            before = table_state(destination)
            cmd, env, cwd = sides.pipeline_into(out, source)
            logs = out.parent / f"{out.name}-{step}.log"
            run = measure("pipeline", index, cmd, env, cwd, out, logs=logs)
            run.step, run.table = step, what_changed(destination, before)
            runs[step].append(run)
            if report_run(run):
                return runs, True, problems
        problems += rerun_problems(runs["unchanged"][-1], runs["changed"][-1])
        cmd, env, cwd, baseline_out = sides.baseline(index, changed, name="rerun-baseline")
        baseline = measure("baseline", index, cmd, env, cwd, baseline_out)
        baseline.step = "changed input"
        runs["baseline"].append(baseline)
        if report_run(baseline):
            return runs, True, problems
        started = time.perf_counter()
        problems += [f"round {index}: {p}" for p in compare_outputs(runs["changed"][-1], baseline)]
        log(f"compared counts and written rows in {time.perf_counter() - started:.1f} s")
        if index > 1:  # keep only the newest round's output: 10M rows is ~150 MB a run
            for step_runs in runs.values():
                shutil.rmtree(Path(step_runs[-2].out_dir), ignore_errors=True)
    return runs, False, problems


def rerun_problems(unchanged: Run, changed: Run) -> list[str]:
    """A Delta destination commits nothing for unchanged input, and something for a change.
    (The snapshot destination of earlier trees commits a new snapshot on every run.)"""
    problems = []
    same, new = unchanged.table or {}, changed.table or {}
    if same.get("layout") == "delta" and same.get("before") != same.get("after"):
        problems.append(f"the rerun of the same input committed: {describe_change(same)}")
    if new.get("before") == new.get("after"):
        problems.append("the rerun with 1% of the keys changed committed nothing")
    return problems


# ----------------------------------------------------------------------------
# (i) the rerun scenario's table
# ----------------------------------------------------------------------------
def print_rerun_table(runs: dict[str, list[Run]], rows: int, engine: str, tree: str) -> None:
    rounds = len(runs["full"])
    print()
    print(f"{engine}: {rows:,} rows, rerun scenario, {rounds} round(s), template {tree}")
    header = f"{'run':<30}{'wall min s':>12}{'wall median s':>15}{'peak RSS MiB':>14}  destination"
    print(header)
    print("-" * 100)
    labels = RERUN_STEPS | {"baseline": "baseline, changed input"}
    for step, step_runs in runs.items():
        if not step_runs:
            continue
        walls = [r.wall_s for r in step_runs]
        change = describe_change(step_runs[-1].table) if step != "baseline" else "(fresh folder)"
        print(
            f"{labels[step]:<30}{min(walls):>12.2f}{statistics.median(walls):>15.2f}"
            f"{max(r.peak_rss_bytes for r in step_runs) / 2**20:>14,.0f}  {change}"
        )
    for step in ("full", "unchanged", "changed"):
        if runs[step]:
            print(f"{labels[step]} counts: {json.dumps(run_counts(runs[step][-1]))}")
    if runs["baseline"]:
        print(f"baseline (changed input) counts: {json.dumps(run_counts(runs['baseline'][-1]))}")


# ----------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Rendered pipeline vs hand-written baseline: wall time, rows/s, RSS."
    )
    parser.add_argument("--engine", choices=ENGINES, default="polars", help="engine to render")
    parser.add_argument("--rows", type=int, default=10_000_000, help="dataset size")
    parser.add_argument("--repeat", type=int, default=3, help="measured runs (rounds) per side")
    parser.add_argument("--seed", type=int, default=42, help="generator seed")
    parser.add_argument(
        "--scenario",
        choices=SCENARIOS,
        default="full",
        help="full: pipeline vs baseline on fresh folders; rerun: full run, rerun unchanged, "
        "rerun with 1%% of the keys changed, into one destination",
    )
    parser.add_argument(
        "--template",
        type=Path,
        default=REPO,
        help="the checkout whose template/ to render (default: this working tree), e.g. a git "
        "worktree of an earlier commit; its benchmarks/ hold the baseline",
    )
    parser.add_argument(
        "--baselines",
        type=Path,
        help="folder holding baseline_<engine>.py (default: the --template checkout's benchmarks/)",
    )
    parser.add_argument(
        "--baseline-only", action="store_true", help="skip rendering; run only the baseline"
    )
    parser.add_argument(
        "--python",
        type=Path,
        help="interpreter for --baseline-only (default: this one); otherwise the rendered one",
    )
    parser.add_argument("--copier", help="copier command line (default: this interpreter's)")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--json-out", type=Path, help="also write the results here as JSON")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.rows < 1:
        parser.error("--rows and --repeat must be positive")
    if args.baseline_only and args.scenario != "full":
        parser.error("--baseline-only runs the full scenario only")

    repo = template_repo(args.template)
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    if args.baseline_only:
        project, python = None, (args.python or Path(sys.executable))
    else:
        project = render_pipeline(workdir, copier_command(args.copier), args.engine, repo=repo)
        python = uv_sync(project)
    source = dataset(workdir, args.rows, args.seed)
    sides = Sides(
        python=python,
        engine=args.engine,
        source=source,
        pipeline_project=project,
        runs_root=workdir / f"runs{tree_label(repo)}",
        benchmarks=(args.baselines or repo / "benchmarks").resolve(),
    )
    if args.scenario == "rerun":
        return rerun_main(args, sides, repo)
    order = ["baseline"] if args.baseline_only else ["pipeline", "baseline"]

    runs, failed = full_scenario(sides, order, args.repeat)
    problems = []
    if not failed and not args.baseline_only:
        started = time.perf_counter()
        problems = compare_outputs(runs["pipeline"][-1], runs["baseline"][-1])
        log(f"compared counts and written rows in {time.perf_counter() - started:.1f} s")
        p_reasons, b_reasons = (run_reasons(runs[s][-1]) for s in ("pipeline", "baseline"))
        if p_reasons != b_reasons:
            log(f"note: per-code counts differ: pipeline {p_reasons} baseline {b_reasons}")
    summaries = [summarise(side, side_runs, args.rows) for side, side_runs in runs.items()]
    verdicts = print_table(summaries, args.rows, args.engine)
    for side in order:
        if runs[side]:
            print(f"{side} counts: {json.dumps(run_counts(runs[side][-1]))}")
    if not args.baseline_only and not failed:
        print("outputs: " + ("same counts, same written rows" if not problems else "DIFFER"))
        for problem in problems:
            print(f"  - {problem}")
    if args.json_out:
        write_results(
            args.json_out,
            args,
            repo,
            runs,
            {"summaries": [asdict(s) for s in summaries], "verdicts": verdicts},
            problems,
        )
    return 1 if failed or problems else 0


def rerun_main(args: argparse.Namespace, sides: Sides, repo: Path) -> int:
    """The rerun scenario from start to report."""
    changed = changed_dataset(sides.source)
    runs, failed, problems = rerun_scenario(sides, changed, args.repeat)
    print_rerun_table(runs, args.rows, args.engine, str(repo))
    if not failed:
        print(
            "outputs: "
            + ("the changed rerun's table holds the baseline's rows" if not problems else "DIFFER")
        )
        for problem in problems:
            print(f"  - {problem}")
    if args.json_out:
        write_results(args.json_out, args, repo, runs, {"changed_source": str(changed)}, problems)
    return 1 if failed or problems else 0


def write_results(
    path: Path,
    args: argparse.Namespace,
    repo: Path,
    runs: dict[str, list[Run]],
    extra: dict,
    problems: list[str],
) -> None:
    """Every run's figures and JSON report, and what was found, as one JSON file."""
    path.write_text(
        json.dumps(
            {
                "engine": args.engine,
                "rows": args.rows,
                "scenario": args.scenario,
                "template": str(repo),
                **extra,
                "problems": problems,
                "runs": [asdict(r) for rs in runs.values() for r in rs],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    sys.exit(main())
