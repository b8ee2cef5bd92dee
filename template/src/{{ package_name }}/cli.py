"""Command line: `run` processes the configured input, `doctor` checks the setup.

Exit codes: 0 success, 65 data contract, 70 internal, 75 transient (retry), 78 configuration.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .build_info import build_info
from .errors import ExitCode, PipelineError
from .pipeline.manifest import ManifestStore
from .pipeline.progress import progress_for
from .pipeline.runner import PipelineRunner, RunResult, new_run_id
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


@app.command()
def run(
    config: ConfigOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of the summary.")
    ] = False,
) -> None:
    """Run the pipeline once over the configured source."""
    run_id = new_run_id()
    try:
        settings = load_settings(config)
    except PipelineError as error:
        _fail(error, run_id, as_json)
    configure_logging(settings.log_level)
    telemetry = configure_telemetry(settings.telemetry, build_info())
    telemetry.attach_logging(logging.getLogger())
    try:
        result = _run_once(settings, run_id, telemetry, show_progress=not as_json)
    except PipelineError as error:
        _fail(error, run_id, as_json)
    finally:
        telemetry.shutdown()
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), sort_keys=True) + "\n")
    else:
        _print_summary(result)


def _run_once(
    settings: Settings, run_id: str, telemetry: Telemetry, *, show_progress: bool
) -> RunResult:
    from .composition import build_pipeline  # the engine is imported only when a run starts

    runner = PipelineRunner(
        build_pipeline(settings),
        info=build_info(),
        instruments=telemetry.instruments(),
        manifests=ManifestStore(settings.runs_dir),
        progress=progress_for(stderr, enabled=show_progress),
    )
    return runner.run(run_id)


def _fail(error: PipelineError, run_id: str, as_json: bool) -> NoReturn:
    payload = {
        "run_id": run_id,
        "status": "failed",
        "error": {
            "class": error.error_class,
            "exit_code": int(error.exit_code),
            "message": str(error),
        },
    }
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
