"""Command line: `run` (all or one partition), `backfill` (a date range), `doctor`.

Exit codes: 0 success, 65 data contract, 70 internal, 75 transient (retry), 78 configuration.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .build_info import build_info
from .errors import ExitCode, PipelineError
from .orchestration.entrypoint import partitions_between, run_partition
from .pipeline.progress import progress_for
from .pipeline.runner import RunResult, new_run_id
from .settings import Settings, load_settings
from .telemetry import Telemetry, configure_logging, configure_telemetry

app = typer.Typer(
    help="Run and check this data pipeline.", no_args_is_help=True, add_completion=False
)
stdout = Console()
stderr = Console(stderr=True)
logger = logging.getLogger(__name__)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="TOML config file (default: $PIPELINE_CONFIG or ./pipeline.toml)."
    ),
]


PartitionOption = Annotated[
    datetime | None,
    typer.Option(
        "--partition",
        formats=["%Y-%m-%d"],
        help="Process one daily partition (YYYY-MM-DD): the files `{date}` in source.path names.",
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON object instead of the summary.")
]


@app.command()
def run(
    config: ConfigOption = None, partition: PartitionOption = None, as_json: JsonOption = False
) -> None:
    """Run the pipeline once: over every partition, or over `--partition`."""
    run_id = new_run_id()
    settings, telemetry = _start(config, run_id, as_json)
    try:
        result = run_partition(
            partition.date() if partition else None,
            settings=settings,
            telemetry=telemetry,
            progress=progress_for(stderr, enabled=not as_json),
            run_id=run_id,
        )
    except PipelineError as error:
        _fail(error, run_id, as_json)
    finally:
        telemetry.shutdown()
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), sort_keys=True) + "\n")
    else:
        _print_summary(result)


@app.command()
def backfill(
    start: Annotated[
        datetime, typer.Option("--start", formats=["%Y-%m-%d"], help="First partition.")
    ],
    end: Annotated[
        datetime, typer.Option("--end", formats=["%Y-%m-%d"], help="Last partition (included).")
    ],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Process a date range partition by partition; stops at the first failing partition."""
    run_id = new_run_id()
    settings, telemetry = _start(config, run_id, as_json)
    done: list[RunResult] = []
    try:
        days = list(partitions_between(start.date(), end.date()))
        for number, day in enumerate(days, start=1):
            try:
                result = run_partition(day, settings=settings, telemetry=telemetry)
            except PipelineError as error:
                _fail(error, run_id, as_json, partition=day.isoformat(), completed=done)
            done.append(result)
            if not as_json:
                counts = result.counts
                stderr.print(
                    f"[{number}/{len(days)}] {day}: read {counts.read:,}, written "
                    f"{counts.written:,}, quarantined {counts.quarantined:,}, filtered "
                    f"{counts.filtered:,} ({result.duration_seconds:.2f} s)",
                    highlight=False,
                    markup=False,
                )
    except PipelineError as error:
        _fail(error, run_id, as_json, completed=done)
    finally:
        telemetry.shutdown()
    if as_json:
        payload = {"status": "succeeded", "partitions": [result.to_dict() for result in done]}
        sys.stdout.write(json.dumps(payload, sort_keys=True) + "\n")
    else:
        stdout.print(f"backfilled {len(done)} partition(s) from {start:%Y-%m-%d} to {end:%Y-%m-%d}")


def _start(config: Path | None, run_id: str, as_json: bool) -> tuple[Settings, Telemetry]:
    """Settings, console logging and telemetry, once per command."""
    try:
        settings = load_settings(config)
    except PipelineError as error:
        _fail(error, run_id, as_json)
    configure_logging(settings.log_level)
    telemetry = configure_telemetry(settings.telemetry, build_info())
    telemetry.attach_logging(logging.getLogger())
    return settings, telemetry


def _fail(
    error: PipelineError,
    run_id: str,
    as_json: bool,
    *,
    partition: str | None = None,
    completed: list[RunResult] | None = None,
) -> NoReturn:
    payload: dict[str, object] = {
        "run_id": run_id,
        "partition": partition,
        "status": "failed",
        "error": {
            "class": error.error_class,
            "exit_code": int(error.exit_code),
            "message": str(error),
        },
    }
    if completed is not None:
        payload["partitions"] = [result.to_dict() for result in completed]
    if as_json:
        sys.stdout.write(json.dumps(payload, sort_keys=True) + "\n")
    else:
        # Messages hold paths and `[section]` names: never let rich read them as markup.
        stderr.print(
            f"[bold red]{error.error_class} error[/]: {escape(str(error))}", highlight=False
        )
    raise typer.Exit(int(error.exit_code))


def _print_summary(result: RunResult) -> None:
    counts = result.counts
    table = Table(show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("run", result.run_id)
    table.add_row("status", result.status)
    for label, value in (
        ("read", counts.read),
        ("written", counts.written),
        ("quarantined", counts.quarantined),
        ("filtered", counts.filtered),
    ):
        table.add_row(label, f"{value:,}")
    table.add_row("duration", f"{result.duration_seconds:.2f} s")
    stdout.print(table)
    lines = [f"output:     {result.output}"]
    if result.quarantine:
        lines.append(f"quarantine: {result.quarantine}")
    if result.violations:
        by_code = ", ".join(f"{code} {n}" for code, n in sorted(result.violations.items()))
        lines.append(f"violations: {by_code}")
    lines.append(f"manifest:   {result.manifest}")
    for line in lines:
        # soft_wrap: paths must stay copyable, not be folded at the terminal width.
        stdout.print(line, highlight=False, soft_wrap=True, markup=False)


@app.command()
def doctor(config: ConfigOption = None) -> None:
    """Check configuration and reachability, and say what to fix."""
    from .doctor import run_checks

    report = run_checks(config)
    table = Table(title="doctor", show_header=True)
    for heading in ("check", "status", "detail"):
        table.add_column(heading)
    for check in report:
        status = "[green]ok[/]" if check.ok else "[red]FAIL[/]"
        table.add_row(check.name, status, escape(check.detail))
    stdout.print(table)
    failed = [check for check in report if not check.ok]
    if failed:
        stderr.print(f"{len(failed)} check(s) failed; each says what to fix.")
        raise typer.Exit(int(ExitCode.CONFIGURATION))


def main() -> None:
    """Console-script entry point."""
    app()
