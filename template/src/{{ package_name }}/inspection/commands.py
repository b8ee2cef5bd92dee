"""The `runs` commands: `list`, `show RUN_ID` and `quarantine RUN_ID`, reading the runs
folder (`runs_dir`) every destination's runs write their manifests and quarantine to.

Exit codes: 0 (also for an empty or missing runs folder, and a run that quarantined
nothing), 2 for a run id that matches no run or several (a bad argument, as for any
command), 65 for a manifest or quarantine file that cannot be read back, 78 for a setting
that is wrong. Settings, pyarrow and the readers are imported by the commands, so `--help`
does not pay for them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from ..errors import ExitCode

if TYPE_CHECKING:
    from .quarantine_report import QuarantinedRow, QuarantineReport
    from .run_records import RunRecord

runs_app = typer.Typer(
    help="Look at past runs: their manifests and quarantined rows.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
stdout = Console()
stderr = Console(stderr=True)
# Tables are as wide as their cells, whatever the terminal: run ids and paths stay whole.
tables = Console(width=400)

# What typer answers for any bad argument: the same for a run id that names no single run.
BAD_ARGUMENT = 2

RunsConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="TOML config file (default: $PIPELINE_CONFIG or ./pipeline.toml); its runs_dir.",
    ),
]
RunIdArgument = Annotated[
    str, typer.Argument(help="A run id, or the start of one that no other run id shares.")
]
AsJsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


@runs_app.command("list")
def list_command(
    config: RunsConfigOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Runs to show.")] = 20,
    as_json: AsJsonOption = False,
) -> None:
    """The newest runs first: status, partition, row counts, duration and start time."""
    from .run_records import list_runs

    runs_dir = _runs_dir(config)
    listing = list_runs(runs_dir, limit)
    for problem in listing.unreadable:
        _say(f"warning: skipped {problem}", err=True)
    if as_json:
        _print_json(
            {
                "runs_dir": str(runs_dir),
                "runs": [run.summary() for run in listing.runs],
                "unreadable": [
                    {"manifest": str(problem.path), "problem": problem.problem}
                    for problem in listing.unreadable
                ],
            }
        )
        return
    if not listing.runs:
        _say(f"no runs yet in {runs_dir} (the runs folder, runs_dir)")
        return
    table = Table(title=f"runs in {runs_dir}, newest first", title_justify="left")
    for heading in ("run", "status", "partition", *_COUNTED, "duration", "started (UTC)"):
        table.add_column(heading, no_wrap=True, justify="right" if heading in _COUNTED else "left")
    for run in listing.runs:
        manifest = run.manifest or {}
        counts = manifest.get("counts") or {}
        duration = manifest.get("duration_seconds")
        table.add_row(
            run.run_id,
            run.status,
            (manifest.get("partition") or "all") if run.manifest else "",
            *(f"{counts[name]:,}" if name in counts else "" for name in _COUNTED),
            f"{duration:.2f} s" if isinstance(duration, int | float) else "",
            run.started_at[:19].replace("T", " "),
        )
    _print_table(table)


_COUNTED = ("read", "written", "quarantined")


@runs_app.command("show")
def show_command(
    run_id: RunIdArgument, config: RunsConfigOption = None, as_json: AsJsonOption = False
) -> None:
    """One run's manifest: status, counts, sources, reason codes, output, error."""
    run = _find(config, run_id)
    if run.manifest is None:
        if as_json:
            _print_json(run.summary())
        _say(
            f"run {run.run_id} has no manifest yet: it is still under way, or a SIGKILL ended "
            f"it before it wrote {run.folder / 'manifest.json'} (its next run sweeps the rest)",
            err=as_json,
        )
        return
    if as_json:
        _print_json(run.manifest)
        return
    _print_manifest(run)


@runs_app.command("quarantine")
def quarantine_command(
    run_id: RunIdArgument,
    config: RunsConfigOption = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Only this reason code, e.g. AMOUNT_MISSING.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=0, help="Rows to show per reason code.")] = 5,
    as_json: AsJsonOption = False,
) -> None:
    """A run's quarantined rows by reason code: how many, and the first rows of each with
    their source file and record and the source's text."""
    from .quarantine_report import QuarantineFileError, quarantine_report

    run = _find(config, run_id)
    try:
        report = quarantine_report(run.folder, run.manifest, reason=reason, limit=limit)
    except QuarantineFileError as error:
        _stop(str(error), ExitCode.DATA_CONTRACT)
    if as_json:
        _print_json({"run_id": run.run_id, **report.to_dict()})
        return
    _print_quarantine(run, report, reason)


def _runs_dir(config: Path | None) -> Path:
    from ..errors import PipelineError
    from ..settings import load_settings

    try:
        return load_settings(config).runs_dir
    except PipelineError as error:
        _stop(f"{error.error_class} error: {error}", error.exit_code)


def _find(config: Path | None, run_id: str) -> RunRecord:
    from .run_records import ManifestError, RunLookupError, find_run

    runs_dir = _runs_dir(config)
    try:
        return find_run(runs_dir, run_id)
    except RunLookupError as error:
        _stop(str(error), BAD_ARGUMENT)
    except ManifestError as error:
        _stop(f"run {run_id}: {error}", ExitCode.DATA_CONTRACT)


def _print_table(table: Table) -> None:
    tables.print(table, markup=False, highlight=False)


def _print_manifest(run: RunRecord) -> None:
    from .run_records import COUNT_KEYS

    manifest = run.manifest or {}
    counts = manifest["counts"]
    table = Table(show_header=False, title=f"run {run.run_id}", title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    rows: list[tuple[str, object]] = [
        ("status", manifest["status"]),
        ("partition", manifest.get("partition") or "all"),
        ("pipeline", manifest.get("pipeline")),
        ("engine", manifest.get("engine")),
        ("template", manifest.get("template_version")),
        ("started", manifest["started_at"]),
        ("finished", manifest.get("finished_at")),
        ("duration", f"{manifest.get('duration_seconds', 0):.2f} s"),
        *((name, f"{counts[name]:,}") for name in COUNT_KEYS),
    ]
    for label, value in rows:
        table.add_row(label, _text(value))
    _print_table(table)
    lines = [f"source:     {source}" for source in manifest.get("sources") or []]
    for code, rows_count in sorted((manifest.get("violations") or {}).items()):
        lines.append(f"violation:  {code} {rows_count:,}")
    output = manifest.get("output")
    if output:
        lines.append(f"output:     {output.get('location')} (version {output.get('snapshot')})")
    quarantine = manifest.get("quarantine")
    if quarantine:
        lines.append(f"quarantine: {quarantine.get('location')} ({quarantine.get('rows'):,} rows)")
    error = manifest.get("error")
    if error:
        lines.append(
            f"error:      {error.get('class')} (exit {error.get('exit_code')}): "
            f"{error.get('message')}"
        )
        if error.get("where"):
            lines.append(f"where:      {error['where']}")
    lines.append(f"manifest:   {run.folder / 'manifest.json'}")
    for line in lines:
        _say(line)


def _print_quarantine(run: RunRecord, report: QuarantineReport, reason: str | None) -> None:
    if report.file is None:
        _say(f"run {run.run_id} quarantined no rows")
        return
    _say(f"run {run.run_id}: {report.rows:,} quarantined row(s) in {report.file}")
    if not report.groups:
        _say(f"no row has the reason {reason}; reasons in this run: {', '.join(report.codes)}")
        return
    for group in report.groups:
        _say(f"\n{group.code}: {group.rows:,} row(s)")
        for row in group.examples:
            _say(f"  {_described(row, group.code)}")
        if group.rows > len(group.examples):
            _say(f"  ... {group.rows - len(group.examples):,} more (--limit, --json)")


def _described(row: QuarantinedRow, code: str) -> str:
    """`file:record  column=value ...`: the source's text where a value did not parse."""
    where = f"{row.source_file}:{row.source_row}"
    others = [other for other in row.reasons if other != code]
    also = f"  (also {', '.join(others)})" if others else ""
    if row.raw_record is not None:
        return f"{where}  record={json.dumps(row.raw_record)}{also}"
    values = [
        f"{name}={json.dumps(row.raw[name])}" if name in row.raw else f"{name}={_text(value)}"
        for name, value in row.values.items()
    ]
    return f"{where}  {' '.join(values)}{also}"


def _text(value: object) -> str:
    return "null" if value is None else str(value)


def _print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, sort_keys=True) + "\n")


def _say(line: str, *, err: bool = False) -> None:
    # Paths and codes stay whole and literal: no wrapping, no markup, no highlighting.
    (stderr if err else stdout).print(line, markup=False, highlight=False, soft_wrap=True)


def _stop(message: str, exit_code: int) -> NoReturn:
    _say(message, err=True)
    raise typer.Exit(int(exit_code))
