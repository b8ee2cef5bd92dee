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
"""Larger than memory: the rendered polars pipeline under a memory limit smaller than its input.

    uv run python benchmarks/larger_than_memory.py [--rows N] [--factor F | --limit-mib M]

Renders the polars pipeline from the working tree and reuses (or generates) the cached
benchmark dataset, like run_benchmark.py. It measures the dataset's size on disk and in
memory (the sum of Polars' estimated_size over the source read in slices: what holding the
rows as a DataFrame costs), sets the limit to in-memory size / F (default F = 3) unless
--limit-mib is given, then runs the pipeline twice with `execution = auto`:

1. unconstrained;
2. under the limit, the way Kubernetes limits a pod: in a memory cgroup made for the run
   as a child of this process's own group (found through /proc/self/cgroup; cgroup v1:
   memory.limit_in_bytes, and memory.memsw.limit_in_bytes where swap is accounted; v2:
   memory.max and memory.swap.max = 0), which the pipeline process joins between fork and
   exec, and which is removed afterwards; the cgroup's peak usage (v1
   memory.max_usage_in_bytes, v2 memory.peak) and whether the OOM killer fired (v1
   memory.oom_control, v2 memory.events) are reported. That needs root and a writable
   memory controller; `--mechanism rlimit` (the default where no cgroup can be made) sets
   the address-space limit RLIMIT_AS in the child instead, and `--mechanism cgroup` fails
   naming what is missing.

It checks the constrained run succeeded and wrote exactly what the unconstrained run wrote
(the counts, the per-code counts, every row partition by partition: a Delta table's rows,
read through its log, or the snapshot destination's files byte for byte or else row by row;
and the quarantined rows without their run id), and prints the limit, the dataset sizes,
each run's execution path, wall time and peak RSS.

--source GLOB runs on existing Parquet files instead of the cached dataset, and
--reuse-unconstrained DIR takes the unconstrained run from DIR (an `out` folder of an
earlier run: destination/, runs/, stdout.log, stderr.log) instead of running it again, which
at tens of millions of rows saves a long run; only the limited run is then made.

Exit status: 0 when the constrained run succeeded with identical output, 1 otherwise, 2
when `--mechanism cgroup` was asked for and no cgroup can be made.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from deltalake import DeltaTable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_benchmark as harness  # the sibling script: render, sync, dataset

# The RLIMIT_AS run's Polars settings: two worker threads (the machine's cores) and a
# jemalloc that returns freed address space instead of retaining it (its Linux default keeps
# it mapped, which an address-space limit counts), and one glibc malloc arena (each reserves
# 64 MiB of address space). Same semantics, smaller address space. A cgroup counts resident
# memory only: the cgroup run gets the environment a pod would, none of these.
LIMITED_ENV = {
    "POLARS_MAX_THREADS": "2",
    "_RJEM_MALLOC_CONF": "retain:false,narenas:2",
    "MALLOC_ARENA_MAX": "1",
}
SLICE_ROWS = 2_000_000
EXECUTION_LOG = re.compile(r"execution auto -> (\w+)")


# ---------------------------------------------------------------------------------------------
# Limit mechanisms
# ---------------------------------------------------------------------------------------------
RLIMIT_MECHANISM = (
    "RLIMIT_AS (address-space limit) on the pipeline process, set between fork and exec. It "
    "is stricter than a cgroup limit of the same size: it counts reserved, untouched virtual "
    "memory too, and Polars reserves ~2-3x what it touches (thread pools, allocator arenas)."
)
CGROUP_MECHANISM = (
    "a memory cgroup (what a Kubernetes pod's memory limit is), made for the run under this "
    "process's own group; the pipeline process joins it between fork and exec. It caps "
    "resident memory plus the page cache the run charges (reclaimable: the kernel evicts it "
    "before it invokes the OOM killer); swap is capped too where the group has a swap limit."
)
CGROUP_ROOT = Path("/sys/fs/cgroup")


class CgroupUnavailable(RuntimeError):
    """A memory cgroup cannot be made here; the message says what is missing."""


@dataclass
class CgroupReport:
    """What the kernel recorded for the run's memory cgroup."""

    version: int
    path: Path
    max_usage_bytes: int | None  # v1 memory.max_usage_in_bytes, v2 memory.peak
    oom_kills: int  # v1 memory.oom_control oom_kill, v2 memory.events oom_kill

    def summary(self) -> str:
        usage = "?" if self.max_usage_bytes is None else f"{self.max_usage_bytes / 2**20:,.0f}"
        killed = f"yes ({self.oom_kills})" if self.oom_kills else "no"
        return (
            f"cgroup v{self.version} {self.path}: max usage {usage} MiB, OOM killer fired: {killed}"
        )


def _mounts() -> list[tuple[str, Path, str, set[str]]]:
    """The cgroup mounts: (root inside the hierarchy, mount point, fstype, super options)."""
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        after = fields.index("-")
        fstype, options = fields[after + 1], set(fields[after + 3].split(","))
        if fstype in ("cgroup", "cgroup2"):
            mounts.append((fields[3], Path(fields[4]), fstype, options))
    return mounts


def _own_group(version: int) -> str:
    """This process's group path in the v1 memory hierarchy or the v2 unified one."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        number, controllers, path = line.split(":", 2)
        if version == 1 and "memory" in controllers.split(","):
            return path
        if version == 2 and number == "0" and controllers == "":
            return path
    raise CgroupUnavailable(
        f"/proc/self/cgroup names no {'v1 memory' if version == 1 else 'v2'} group"
    )


def _inside(mount_root: str, mount_point: Path, group: str) -> Path:
    relative = os.path.relpath(group, mount_root) if group != mount_root else "."
    if relative.startswith(".."):
        raise CgroupUnavailable(f"this process's group {group} is outside the mount {mount_point}")
    return (mount_point / relative).resolve()


def own_memory_group() -> tuple[int, Path]:
    """(version, folder) of this process's own memory cgroup: v1 where the memory controller
    is mounted as v1, else v2 when the unified group offers the memory controller."""
    if not Path("/proc/self/cgroup").exists():
        raise CgroupUnavailable("/proc/self/cgroup does not exist (not Linux?)")
    mounts = _mounts()
    for root, point, fstype, options in mounts:
        if fstype == "cgroup" and "memory" in options:
            return 1, _inside(root, point, _own_group(1))
    for root, point, fstype, _ in mounts:
        if fstype == "cgroup2":
            folder = _inside(root, point, _own_group(2))
            offered = (folder / "cgroup.controllers").read_text().split()
            if "memory" not in offered:
                raise CgroupUnavailable(
                    f"cgroup v2 at {point} offers no memory controller to {folder} "
                    f"(cgroup.controllers: {' '.join(offered) or 'none'}), and no cgroup v1 "
                    "memory hierarchy is mounted"
                )
            return 2, folder
    raise CgroupUnavailable("no cgroup v1 memory hierarchy and no cgroup v2 mount")


class MemoryCgroup:
    """A child memory cgroup of this process's own group, for one run: made with a limit,
    joined by the run's process, read and removed afterwards."""

    def __init__(self, limit: int, name: str) -> None:
        if os.geteuid() != 0:
            raise CgroupUnavailable(f"making a cgroup needs root (euid is {os.geteuid()})")
        self.limit = limit
        self.version, parent = own_memory_group()
        if not os.access(parent, os.W_OK):
            raise CgroupUnavailable(f"the memory cgroup {parent} is not writable")
        self.path = parent / f"{name}-{os.getpid()}"
        self._procs = str(self.path / "cgroup.procs")

    def __enter__(self) -> MemoryCgroup:
        try:
            self.path.mkdir()
        except OSError as error:
            raise CgroupUnavailable(f"cannot make {self.path}: {error.strerror}") from None
        try:
            self._set_limits()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.remove()

    def _set_limits(self) -> None:
        limit = str(self.limit)
        if self.version == 1:
            files = ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]  # memory first
        else:
            files = ["memory.max", "memory.swap.max"]
            if not (self.path / "memory.max").exists():
                raise CgroupUnavailable(
                    f"{self.path} has no memory.max: add memory to cgroup.subtree_control of "
                    f"{self.path.parent} (possible only when that group holds no process)"
                )
        for index, name in enumerate(files):
            target = self.path / name
            if index and not target.exists():
                continue  # no swap accounting: nothing to cap (the machine may have no swap)
            try:
                target.write_text(limit if self.version == 1 or index == 0 else "0")
            except OSError as error:
                raise CgroupUnavailable(f"cannot write {target}: {error.strerror}") from None

    def join(self) -> None:
        """Put the calling process in the group: run in the child between fork and exec."""
        with open(self._procs, "w") as procs:  # plain open: as little as possible after fork
            procs.write(str(os.getpid()))

    def report(self) -> CgroupReport:
        def number(name: str) -> int | None:
            try:
                return int((self.path / name).read_text().split()[0])
            except (OSError, ValueError, IndexError):
                return None

        def counters(name: str) -> dict[str, int]:
            try:
                lines = (self.path / name).read_text().splitlines()
            except OSError:
                return {}
            return {key: int(value) for key, value in (line.split() for line in lines)}

        if self.version == 1:
            oom = counters("memory.oom_control").get("oom_kill", 0)
            return CgroupReport(1, self.path, number("memory.max_usage_in_bytes"), oom)
        oom = counters("memory.events").get("oom_kill", 0)
        return CgroupReport(2, self.path, number("memory.peak"), oom)

    def remove(self) -> None:
        """Remove the group (its processes have exited; charges left move to the parent)."""
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:  # EBUSY: a process of the run is still exiting
                time.sleep(0.1)
        print(f"warning: could not remove the cgroup {self.path}", file=sys.stderr)


@dataclass
class Outcome:
    name: str
    exit_code: int
    wall_s: float
    peak_rss_bytes: int
    execution: str
    out_dir: Path
    report: dict | None
    stderr_tail: str
    cgroup: CgroupReport | None = None


def copies(source: Path, count: int) -> Path:
    """`count` copies of the dataset as `count` files in one folder (a source of many files,
    like daily exports; one huge Parquet file would not do under an address-space limit:
    Polars memory-maps a file it reads, so its whole size counts), each copy's order ids
    prefixed with its number (R1-, R2-, ...; the first copy unchanged) so ids stay unique
    across copies. Returns the glob of the files. Built by streaming, cached."""
    if count <= 1:
        return source
    folder = source.with_name(f"{source.stem}-x{count}")
    if not folder.exists():
        partial = folder.with_suffix(".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        base = pl.scan_parquet(source)
        for number in range(count):
            ids = pl.concat_str(pl.lit(f"R{number}-"), "order_id").alias("order_id")
            copy = base if number == 0 else base.with_columns(ids)
            copy.sink_parquet(
                partial / f"part-{number:03d}.parquet", compression="zstd", row_group_size=262_144
            )
        partial.replace(folder)
    return folder / "*.parquet"


def in_memory_bytes(path: Path) -> int:
    """Polars' estimated size of the source rows, summed over slices (never all at once)."""
    total, frame = 0, pl.scan_parquet(path)
    rows = frame.select(pl.len()).collect().item()
    for offset in range(0, rows, SLICE_ROWS):
        total += frame.slice(offset, SLICE_ROWS).collect().estimated_size()
    return total


def run_pipeline(
    name: str,
    python: Path,
    project: Path,
    source: Path,
    out: Path,
    limit: int | None,
    mechanism: str = "rlimit",
) -> Outcome:
    """One `run --json` of the rendered pipeline; wall time and peak RSS of its tree. Under
    a limit, `mechanism` says how: "rlimit" (RLIMIT_AS) or "cgroup" (a memory cgroup made
    for this run and removed after it)."""
    if limit is not None and mechanism == "cgroup":
        with MemoryCgroup(limit, f"ltm-{name}") as group:
            outcome = _run(name, python, project, source, out, {}, group.join)
            outcome.cgroup = group.report()
        return outcome
    if limit is None:
        return _run(name, python, project, source, out, {}, None)

    def constrain() -> None:  # in the child, before exec
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return _run(name, python, project, source, out, LIMITED_ENV, constrain)


def _run(
    name: str,
    python: Path,
    project: Path,
    source: Path,
    out: Path,
    extra_env: dict[str, str],
    preexec: Callable[[], None] | None,
) -> Outcome:
    out.mkdir(parents=True)
    env = os.environ | {
        "PIPELINE_SOURCE__PATH": str(source),
        "PIPELINE_DESTINATION__PATH": str(out / "destination"),
        "PIPELINE_RUNS_DIR": str(out / "runs"),
    }
    env.pop("VIRTUAL_ENV", None)
    env |= extra_env
    stdout_path, stderr_path = out / "stdout.log", out / "stderr.log"
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(
            [str(python), "-m", "src.cli", "run", "--json"],
            cwd=project,
            env=env,
            stdout=stdout,
            stderr=stderr,
            preexec_fn=preexec,
        )
        sampler = harness.TreeSampler(process.pid)
        sampler.start()
        _, status, rusage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        sampler.stopped.set()
        sampler.join()
    errors = stderr_path.read_text(errors="replace")
    chosen = EXECUTION_LOG.search(errors)
    return Outcome(
        name=name,
        exit_code=os.waitstatus_to_exitcode(status),
        wall_s=wall,
        peak_rss_bytes=max(rusage.ru_maxrss * 1024, sampler.peak),
        execution=chosen.group(1) if chosen else "?",
        out_dir=out,
        report=harness.last_json_object(stdout_path.read_text(errors="replace")),
        stderr_tail=errors[-3000:],
    )


TIME_LINE = re.compile(r"wall ([\d.]+) s peakRSS (\d+) KB")
EXIT_LINE = re.compile(r"^exit=(-?\d+)$", re.MULTILINE)


def earlier_run(name: str, out: Path) -> Outcome:
    """A run made before, read back from its folder (`run_pipeline`'s layout). Wall time and
    peak RSS come from a `/usr/bin/time -f 'wall %e s peakRSS %M KB ...'` line in stderr.log
    when there is one (else NaN and 0); the exit code from an `exit=N` line, else from the
    report's status."""
    errors = (out / "stderr.log").read_text(errors="replace")
    report = harness.last_json_object((out / "stdout.log").read_text(errors="replace"))
    timed, exited = TIME_LINE.search(errors), EXIT_LINE.findall(errors)
    succeeded = report is not None and report.get("status") == "succeeded"
    chosen = EXECUTION_LOG.search(errors)
    return Outcome(
        name=f"{name} (reused)",
        exit_code=int(exited[-1]) if exited else (0 if succeeded else 1),
        wall_s=float(timed.group(1)) if timed else float("nan"),
        peak_rss_bytes=int(timed.group(2)) * 1024 if timed else 0,
        execution=chosen.group(1) if chosen else "?",
        out_dir=out,
        report=report,
        stderr_tail=errors[-3000:],
    )


def output_files(outcome: Outcome) -> dict[str, Path]:
    """The snapshot destination's files (trees before issue 13), by path in the snapshot."""
    current = outcome.out_dir / "destination" / "current"
    return {str(path.relative_to(current)): path for path in sorted(current.rglob("*.parquet"))}


def compare_tables(free: Path, limited: Path) -> list[str]:
    """Two Delta tables' rows, one order_date partition at a time (file names are random,
    and the whole table need not fit in the harness's memory)."""
    days_a, days_b = (
        {p["order_date"] for p in DeltaTable(str(t)).partitions()} for t in (free, limited)
    )
    if days_a != days_b:
        return [f"partitions differ: {sorted(days_a ^ days_b)[:5]}"]
    problems = []
    for day in sorted(days_a):
        left, right = (
            pl.scan_delta(str(table))
            .filter(pl.col("order_date") == pl.lit(day).str.to_date())
            .sort("order_id")
            .collect()
            for table in (free, limited)
        )
        if not left.equals(right):
            problems.append(f"rows differ in order_date={day}")
    return problems


def compare_written(free: Outcome, limited: Outcome) -> list[str]:
    """The written rows of both runs, whichever layout the destination has."""
    tables = [o.out_dir / "destination" for o in (free, limited)]
    if all(harness.layout(table) == "delta" for table in tables):
        return compare_tables(*tables)
    problems = []
    files_a, files_b = output_files(free), output_files(limited)
    if sorted(files_a) != sorted(files_b):
        return [f"written files differ: {sorted(set(files_a) ^ set(files_b))[:5]}"]
    for name, path in files_a.items():
        if path.read_bytes() == files_b[name].read_bytes():
            continue
        # Not the same bytes: compare the rows themselves, one file at a time.
        if not pl.read_parquet(path).equals(pl.read_parquet(files_b[name])):
            problems.append(f"rows differ in {name}")
    return problems


def compare(free: Outcome, limited: Outcome) -> list[str]:
    """Problems found: counts, per-code counts, written files or rows, quarantined rows."""
    problems = []
    a, b = free.report or {}, limited.report or {}
    for key in ("counts", "violations"):
        if a.get(key) != b.get(key):
            problems.append(f"{key} differ: {a.get(key)} vs {b.get(key)}")
    problems += compare_written(free, limited)
    if a.get("quarantine") or b.get("quarantine"):
        left, right = (pl.read_parquet(str(r.get("quarantine"))).drop("_run_id") for r in (a, b))
        if not left.equals(right):
            problems.append("quarantined rows differ")
    return problems


def choose_mechanism(requested: str) -> str:
    """The mechanism to use: "cgroup" when asked for (CgroupUnavailable says why it cannot
    be) or, for "auto", when this process could make one; else "rlimit"."""
    if requested == "rlimit":
        return requested
    try:
        MemoryCgroup(2**30, "probe")  # finds the group and checks it is writable; makes nothing
    except CgroupUnavailable as error:
        if requested == "cgroup":
            raise
        print(f"limit via RLIMIT_AS: {error}", file=sys.stderr)
        return "rlimit"
    return "cgroup"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="dataset size")
    parser.add_argument(
        "--factor", type=float, default=3.0, help="limit = in-memory size of the data / F"
    )
    parser.add_argument("--limit-mib", type=int, help="the limit itself (overrides --factor)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--copies", type=int, default=1, help="dataset = this many relabelled copies of --rows"
    )
    parser.add_argument("--source", help="a glob of existing Parquet files to use as the data")
    parser.add_argument(
        "--reuse-unconstrained",
        type=Path,
        help="the out folder of an earlier unconstrained run on the same data: not run again",
    )
    parser.add_argument(
        "--mechanism",
        choices=("auto", "cgroup", "rlimit"),
        default="auto",
        help="how the limit is set: a memory cgroup, RLIMIT_AS, or auto (cgroup when one can "
        "be made: root and a writable memory controller; else RLIMIT_AS)",
    )
    parser.add_argument("--copier", help="copier command line (default: this interpreter's)")
    parser.add_argument("--workdir", type=Path, default=harness.DEFAULT_WORKDIR)
    args = parser.parse_args(argv)

    try:
        mechanism = choose_mechanism(args.mechanism)
    except CgroupUnavailable as error:
        print(f"--mechanism cgroup: no memory cgroup can be made here: {error}", file=sys.stderr)
        return 2
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    project = harness.render_pipeline(workdir, harness.copier_command(args.copier), "polars")
    python = harness.uv_sync(project)
    if args.source:
        source = Path(args.source).resolve()
    else:
        source = copies(harness.dataset(workdir, args.rows, args.seed), args.copies)
    rows = pl.scan_parquet(source).select(pl.len()).collect().item()
    on_disk = sum(path.stat().st_size for path in source.parent.glob(source.name))
    in_memory = in_memory_bytes(source)
    limit = args.limit_mib * 2**20 if args.limit_mib else int(in_memory / args.factor)

    runs_root = workdir / "larger-than-memory"
    if args.reuse_unconstrained:
        free = earlier_run("unconstrained", args.reuse_unconstrained.resolve())
        shutil.rmtree(runs_root / "limited", ignore_errors=True)
    else:
        shutil.rmtree(runs_root, ignore_errors=True)
        free = run_pipeline("unconstrained", python, project, source, runs_root / "free", None)
    limited = run_pipeline(
        "limited", python, project, source, runs_root / "limited", limit, mechanism
    )

    mib = 2**20
    print()
    print(
        f"dataset: {rows:,} rows; on disk {on_disk / mib:,.0f} MiB (zstd Parquet), "
        f"in memory {in_memory / mib:,.0f} MiB (Polars estimated_size)"
    )
    print(
        f"limit: {limit / mib:,.0f} MiB via {mechanism}; "
        f"in-memory size / limit = {in_memory / limit:.2f}x "
        f"(target >= 3x); on-disk size / limit = {on_disk / limit:.2f}x"
        + (
            f"; unconstrained peak RSS / limit = {free.peak_rss_bytes / limit:.2f}x"
            if free.peak_rss_bytes
            else ""
        )
    )
    header = f"{'run':<25}{'execution':>11}{'exit':>6}{'wall s':>9}{'peak RSS MiB':>14}"
    print(header)
    print("-" * len(header))
    for outcome in (free, limited):
        print(
            f"{outcome.name:<25}{outcome.execution:>11}{outcome.exit_code:>6}"
            f"{outcome.wall_s:>9.2f}{outcome.peak_rss_bytes / mib:>14,.0f}"
        )
    print(f"limit mechanism: {CGROUP_MECHANISM if mechanism == 'cgroup' else RLIMIT_MECHANISM}")
    if limited.cgroup is not None:
        print(limited.cgroup.summary())
    failed = [o for o in (free, limited) if o.exit_code != 0]
    for outcome in failed:
        print(f"{outcome.name} failed; stderr tail:\n{outcome.stderr_tail}")
    problems = [] if failed else compare(free, limited)
    if not failed:
        print("counts: " + json.dumps((free.report or {}).get("counts")))
        print("outputs: " + ("identical" if not problems else "DIFFER"))
        for problem in problems:
            print(f"  - {problem}")
    return 1 if failed or problems else 0


if __name__ == "__main__":
    sys.exit(main())
