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
"""PostgreSQL load: the rendered pipeline's loader against a plain COPY of the same rows.

    uv run python benchmarks/postgres_load.py [--rows N] [--repeat R] [--engine E]

Renders the pipeline with `destination=postgres` (engine polars by default) from the working
tree, reuses (or generates) the cached benchmark dataset like run_benchmark.py, and starts a
throwaway PostgreSQL cluster from the server binaries (initdb + pg_ctl on 127.0.0.1,
`fsync=off` for both sides alike; stopped by PID at the end). Then, R times:

1. **pipeline**: `python -m src.cli run` into a fresh table; its rows/s are the rows written
   over the duration of its `load` stage (from the run's log: the engine writing the spool,
   Arrow -> CSV, COPY, the checks and the commit);
2. **raw COPY**: the same rows, dumped beforehand as CSV (not timed), streamed with one
   `COPY .. FROM STDIN (FORMAT csv)` into a fresh table of the same definition
   (`CREATE TABLE .. (LIKE .. INCLUDING ALL)`: the same columns, types and primary key);
3. **rerun**: the pipeline again into its now full table (every row goes through the
   temporary table and the upsert; none changes): the merge path's rows/s, for information.

It prints rows/s of each and the ratio pipeline / raw COPY (target >= 0.7). Timings on a
shared machine are evidence for a human, not a test: the exit status only says whether every
run succeeded and both tables hold the same rows.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    import run_benchmark as harness  # the sibling script: render, sync, dataset
except ImportError:  # the raw-copy child runs in the rendered interpreter, without psutil
    harness = None  # type: ignore[assignment]

TARGET_RATIO = 0.7
LOAD_STAGE = re.compile(r"stage load done in (?P<seconds>[0-9.]+)s: (?P<rows>\d+) rows")
SUPERUSER = "postgres"


# ----------------------------------------------------------------------------
# The cluster
# ----------------------------------------------------------------------------
def postgres_bin() -> Path:
    if explicit := os.environ.get("PG_BIN"):
        return Path(explicit)
    if found := shutil.which("initdb"):
        return Path(found).parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if not candidates:
        raise SystemExit("PostgreSQL binaries not found: apt-get install postgresql")
    return candidates[0].parent


def as_cluster_owner(command: list[str]) -> list[str]:
    """initdb and postgres refuse root: run them as the `postgres` user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def start_cluster(root: Path) -> tuple[int, int, str]:
    """initdb + pg_ctl start; returns (port, postmaster pid, superuser password)."""
    binaries = postgres_bin()
    password = secrets.token_hex(16)
    (root / "password").write_text(password)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(root / "password", "postgres")
    data = root / "data"
    initdb = [str(binaries / "initdb"), "-D", str(data), "-U", SUPERUSER, "--no-sync"]
    initdb += ["--auth=scram-sha-256", f"--pwfile={root / 'password'}"]
    harness.run_checked(as_cluster_owner(initdb))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_wal_size=8GB "
        "-c shared_buffers=1GB"
    )
    pg_ctl = [str(binaries / "pg_ctl"), "-D", str(data), "-o", options]
    harness.run_checked(as_cluster_owner([*pg_ctl, "-l", str(root / "log"), "-w", "start"]))
    pid = int((data / "postmaster.pid").read_text().splitlines()[0])
    return port, pid, password


def stop_cluster(pid: int) -> None:
    os.kill(pid, signal.SIGINT)  # fast shutdown
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


# ----------------------------------------------------------------------------
# The raw COPY side: runs in the rendered interpreter (it has psycopg)
# ----------------------------------------------------------------------------
def raw_copy(connection_json: str, source_table: str, target_table: str, dump: str) -> None:
    """Dump `source_table` as CSV once (untimed), then time one plain COPY of it into a fresh
    `target_table` of the same definition. Prints {"seconds": s, "rows": n} as JSON."""
    import psycopg
    from psycopg import sql

    options = json.loads(connection_json)
    source = sql.Identifier("public", source_table)
    target = sql.Identifier("public", target_table)
    with psycopg.connect(**options, autocommit=True) as connection:
        connection.execute("SET TimeZone = 'UTC'")
        dump_path = Path(dump)
        if not dump_path.exists():
            with (
                dump_path.open("wb") as out,
                connection.cursor().copy(
                    sql.SQL("COPY {} TO STDOUT (FORMAT csv)").format(source)
                ) as copy,
            ):
                for chunk in copy:
                    out.write(chunk)
        connection.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(target))
        connection.execute(
            sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(target, source)
        )
        started = time.perf_counter()
        statement = sql.SQL("COPY {} FROM STDIN (FORMAT csv)").format(target)
        with connection.transaction(), connection.cursor() as cursor:
            with cursor.copy(statement) as copy, dump_path.open("rb") as data:
                while chunk := data.read(1 << 20):
                    copy.write(chunk)
            rows = cursor.rowcount
        seconds = time.perf_counter() - started
        same = connection.execute(
            sql.SQL(
                "SELECT (SELECT count(*) FROM {0}) = (SELECT count(*) FROM {1}) AND NOT EXISTS "
                "(SELECT * FROM {0} EXCEPT SELECT * FROM {1})"
            ).format(source, target)
        ).fetchone()
    print(json.dumps({"seconds": seconds, "rows": rows, "same_rows": bool(same and same[0])}))


# ----------------------------------------------------------------------------
# The harness
# ----------------------------------------------------------------------------
def run_pipeline(python: Path, project: Path, env: dict[str, str]) -> tuple[float, int, float]:
    """One `run`; returns (load stage seconds, rows written, wall seconds)."""
    started = time.perf_counter()
    result = subprocess.run(
        [str(python), "-m", "src.cli", "run", "--json"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"pipeline run failed ({result.returncode}):\n{result.stderr[-3000:]}")
    match = LOAD_STAGE.search(result.stderr)
    if match is None:
        raise SystemExit(f"no load stage timing in the run's log:\n{result.stderr[-3000:]}")
    return float(match["seconds"]), int(match["rows"]), wall


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "raw-copy":
        raw_copy(*sys.argv[2:6])
        return 0
    parser = argparse.ArgumentParser(description="Rendered PostgreSQL loader vs plain COPY.")
    parser.add_argument("--engine", choices=harness.ENGINES, default="polars")
    parser.add_argument("--rows", type=int, default=10_000_000, help="dataset size")
    parser.add_argument("--repeat", type=int, default=1, help="measured rounds")
    parser.add_argument("--seed", type=int, default=42, help="generator seed")
    parser.add_argument("--copier", help="copier command line (default: this interpreter's)")
    parser.add_argument("--workdir", type=Path, default=harness.DEFAULT_WORKDIR)
    args = parser.parse_args(argv)

    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    project = harness.render_pipeline(
        workdir, harness.copier_command(args.copier), args.engine, destination="postgres"
    )
    python = harness.uv_sync(project)
    source = harness.dataset(workdir, args.rows, args.seed)
    cluster = Path(tempfile.mkdtemp(prefix="pipeline-pg-bench-"))
    port, postmaster, password = start_cluster(cluster)
    connection = {
        "host": "127.0.0.1",
        "port": port,
        "dbname": "postgres",
        "user": SUPERUSER,
        "password": password,
    }
    rounds: list[dict[str, float]] = []
    ok = True
    try:
        for index in range(1, args.repeat + 1):
            table = f"orders_pipeline_{index}"
            runs = workdir / "runs" / f"postgres-{index}"
            shutil.rmtree(runs, ignore_errors=True)
            env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
            env |= {
                "PIPELINE_SOURCE__PATH": str(source),
                "PIPELINE_RUNS_DIR": str(runs),
                "PIPELINE_DESTINATION__HOST": "127.0.0.1",
                "PIPELINE_DESTINATION__PORT": str(port),
                "PIPELINE_DESTINATION__USER": SUPERUSER,
                "PIPELINE_DESTINATION__PASSWORD": password,
                "PIPELINE_DESTINATION__TABLE": table,
            }
            load_s, rows, wall_s = run_pipeline(python, project, env)
            harness.log(f"round {index}: pipeline load {rows:,} rows in {load_s:.2f} s")
            copied = subprocess.run(
                [
                    str(python),
                    __file__,
                    "raw-copy",
                    json.dumps(connection),
                    table,
                    f"orders_raw_{index}",
                    str(workdir / f"postgres-dump-{index}.csv"),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if copied.returncode != 0:
                raise SystemExit(f"raw COPY failed:\n{copied.stderr[-3000:]}")
            raw = json.loads(copied.stdout.strip().splitlines()[-1])
            harness.log(f"round {index}: raw COPY {raw['rows']:,} rows in {raw['seconds']:.2f} s")
            ok = ok and raw["same_rows"] and raw["rows"] == rows
            rerun_s, rerun_rows, _ = run_pipeline(python, project, env)
            harness.log(f"round {index}: rerun (merge) {rerun_rows:,} rows in {rerun_s:.2f} s")
            rounds.append(
                {
                    "rows": rows,
                    "pipeline_load_s": load_s,
                    "pipeline_wall_s": wall_s,
                    "raw_copy_s": raw["seconds"],
                    "rerun_load_s": rerun_s,
                }
            )
            (workdir / f"postgres-dump-{index}.csv").unlink(missing_ok=True)
    finally:
        stop_cluster(postmaster)
        shutil.rmtree(cluster, ignore_errors=True)

    rows = int(rounds[0]["rows"])
    load = statistics.median(r["pipeline_load_s"] for r in rounds)
    raw_s = statistics.median(r["raw_copy_s"] for r in rounds)
    rerun = statistics.median(r["rerun_load_s"] for r in rounds)
    ratio = (rows / load) / (rows / raw_s)
    print(f"PostgreSQL load, {args.engine} engine, {rows:,} rows written, {len(rounds)} round(s)")
    print(f"  pipeline load stage   {load:8.2f} s  {rows / load:12,.0f} rows/s")
    print(f"  plain COPY            {raw_s:8.2f} s  {rows / raw_s:12,.0f} rows/s")
    print(f"  rerun (merge path)    {rerun:8.2f} s  {rows / rerun:12,.0f} rows/s")
    verdict = "PASS" if ratio >= TARGET_RATIO else "FAIL"
    print(f"  ratio pipeline / COPY {ratio:8.2f}    target >= {TARGET_RATIO}: {verdict}")
    print(f"  same rows in both tables: {'yes' if ok else 'NO'}")
    print(json.dumps({"rounds": rounds, "ratio": ratio}))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
