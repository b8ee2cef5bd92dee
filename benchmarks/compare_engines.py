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
"""Rendered pipelines of several engines on the same data, alternating, in one run.

    uv run python benchmarks/compare_engines.py [--engines polars pandas] [--rows N] [--repeat R]

run_benchmark.py holds each engine to a hand-written script in that engine; this answers the
other question, how the engines compare with each other, which only means something when
they run on the same machine at the same time: every round runs each engine once, in a
rotating order, on the dataset run_benchmark.py generates. It reuses that harness's render,
sync, dataset and measurement code, prints each engine's min/median wall time, rows/s and
peak RSS, and each engine's median relative to the first one's (issue 4 asks for the Polars
pipeline to be at least 2x faster than the pandas pipeline). `--template REPO` renders
another checkout (e.g. a git worktree of an earlier commit) instead of the working tree.
Exit status 1 when a run fails or the engines' counts differ.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_benchmark as harness  # a sibling script, not a package


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--engines", nargs="+", choices=harness.ENGINES, default=["polars", "pandas"]
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--copier", help="copier command line (default: this interpreter's)")
    parser.add_argument("--workdir", type=Path, default=harness.DEFAULT_WORKDIR)
    parser.add_argument(
        "--template", type=Path, default=harness.REPO, help="the checkout to render"
    )
    args = parser.parse_args(argv)

    repo = harness.template_repo(args.template)
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    source = harness.dataset(workdir, args.rows, args.seed)
    sides = {}
    for engine in args.engines:
        project = harness.render_pipeline(
            workdir, harness.copier_command(args.copier), engine, repo=repo
        )
        sides[engine] = harness.Sides(
            python=harness.uv_sync(project),
            engine=engine,
            source=source,
            pipeline_project=project,
            runs_root=workdir / f"compare{harness.tree_label(repo)}" / engine,
        )

    walls: dict[str, list[float]] = {engine: [] for engine in args.engines}
    peaks: dict[str, int] = dict.fromkeys(args.engines, 0)
    counts: dict[str, dict] = {}
    for index in range(1, args.repeat + 1):
        shift = (index - 1) % len(args.engines)  # rotate who goes first each round
        for engine in args.engines[shift:] + args.engines[:shift]:
            cmd, env, cwd, out = sides[engine].pipeline(index)
            run = harness.measure(engine, index, cmd, env, cwd, out)
            harness.log(f"{engine} #{index}: {run.wall_s:.2f} s, exit {run.exit_code}")
            if run.exit_code != 0:
                harness.log(f"{engine} failed:\n{run.stderr_tail}")
                return 1
            walls[engine].append(run.wall_s)
            peaks[engine] = max(peaks[engine], run.peak_rss_bytes)
            counts[engine] = (run.report or {}).get("counts", {})

    first = args.engines[0]
    reference = statistics.median(walls[first])
    print(f"\n{args.rows:,} rows, {args.repeat} run(s) per engine, alternating")
    header = f"{'engine':<8}{'wall min s':>12}{'median s':>10}{'rows/s':>13}{'peak MiB':>10}"
    print(header + f"{'median vs ' + first:>18}")
    print("-" * (len(header) + 18))
    for engine in args.engines:
        median = statistics.median(walls[engine])
        print(
            f"{engine:<8}{min(walls[engine]):>12.2f}{median:>10.2f}{args.rows / median:>13,.0f}"
            f"{peaks[engine] / 2**20:>10,.0f}{median / reference:>17.2f}x"
        )
    same = all(value == counts[first] for value in counts.values())
    print(f"counts: {'the same for every engine' if same else 'DIFFER'} {counts[first]}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
