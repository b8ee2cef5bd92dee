"""Progress shown while a run works: a live stage display on a terminal, nothing otherwise.

On a terminal each stage gets one line: its name, rows, rows/s and seconds, live while it
runs and kept, final, once it ends. While the display is live, log records print through
its console (`console_logs.py`), so they never splice into a progress line; in pipes, log
files and with `--json` there is no display at all and logs stay as they are.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from rich.console import Console
from rich.progress import Progress, ProgressColumn, SpinnerColumn, Task, TaskID, TextColumn
from rich.text import Text

from .console_logs import LogsThroughConsole

# What a column shows while its figure is not known yet (a stage still reading).
UNKNOWN = "…"


class StageProgress(Protocol):
    """Told when each stage starts and ends."""

    def started(self, stage: str) -> None:
        """A stage began."""
        ...

    def advanced(self, stage: str, rows: int) -> None:
        """A running stage has handled `rows` rows so far."""
        ...

    def finished(self, stage: str, rows: int) -> None:
        """A stage ended with `rows` rows."""
        ...

    def close(self) -> None:
        """Stop displaying."""
        ...


class SilentProgress:
    """For pipes, logs and `--json`: shows nothing."""

    def started(self, stage: str) -> None:
        """Ignore."""

    def advanced(self, stage: str, rows: int) -> None:
        """Ignore."""

    def finished(self, stage: str, rows: int) -> None:
        """Ignore."""

    def close(self) -> None:
        """Ignore."""


def rows_per_second(rows: float, seconds: float | None) -> float | None:
    """The rate, or None while no time has passed (a stage that took ~0 s has no rate)."""
    if seconds is None or seconds <= 0:
        return None
    return rows / seconds


def stage_seconds(task: Task) -> float | None:
    """How long the stage has run, frozen at its end once finished."""
    return task.finished_time if task.finished else task.elapsed


class RowsColumn(ProgressColumn):
    """`3,000 rows`; unknown until the stage reports a count."""

    def render(self, task: Task) -> Text:
        """The stage's rows so far."""
        if not task.finished and not task.completed:
            return Text(f"{UNKNOWN} rows", justify="right")
        return Text(f"{int(task.completed):,} rows", justify="right")


class RateColumn(ProgressColumn):
    """`1,234 rows/s`, from the rows so far and the stage's own elapsed time."""

    def render(self, task: Task) -> Text:
        """The stage's rate, or unknown when there are no rows or no time yet."""
        rate = rows_per_second(task.completed, stage_seconds(task))
        if rate is None or (not task.finished and not task.completed):
            return Text(f"{UNKNOWN} rows/s", justify="right")
        return Text(f"{rate:,.0f} rows/s", justify="right")


class SecondsColumn(ProgressColumn):
    """`1.25 s`: elapsed while the stage runs, its duration once it ends."""

    def render(self, task: Task) -> Text:
        """The stage's seconds."""
        seconds = stage_seconds(task) or 0.0
        return Text(f"{seconds:.2f} s", justify="right")


class TerminalProgress:
    """One line per stage (rows, rows/s, seconds), with logs printed above the display.

    The display starts with the first stage, so a run that fails before any stage leaves
    the terminal and the log handlers as they were; `close` restores both. Records go
    through `logger`'s handlers (the root logger's by default); `clock` (monotonic seconds)
    is for tests.
    """

    def __init__(
        self,
        console: Console,
        logger: logging.Logger | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._progress = Progress(
            SpinnerColumn(finished_text="✓"),
            TextColumn("{task.description:<10}", markup=False),
            RowsColumn(),
            RateColumn(),
            SecondsColumn(),
            console=console,
            transient=False,
            # Elapsed time and spinner move on their own; a few redraws a second are enough
            # and leave the cores to the pipeline.
            refresh_per_second=4,
            get_time=clock,
        )
        self._logs = LogsThroughConsole(console, logger or logging.getLogger())
        self._tasks: dict[str, TaskID] = {}
        self._live = False

    def started(self, stage: str) -> None:
        """Show the stage as running, at once (not at the next redraw)."""
        if not self._live:
            self._logs.route()  # before the display replaces sys.stderr with its proxy
            self._progress.start()
            self._live = True
        self._tasks[stage] = self._progress.add_task(stage, total=None)
        self._progress.refresh()

    def advanced(self, stage: str, rows: int) -> None:
        """Show the running stage's rows so far, and so its rate."""
        self._progress.update(self._tasks[stage], completed=rows, refresh=True)

    def finished(self, stage: str, rows: int) -> None:
        """Freeze the stage's line at its rows, rate and seconds."""
        task = self._tasks[stage]
        # total == completed marks the task finished, which fixes its time (and rate).
        self._progress.update(task, total=rows, completed=rows, refresh=True)

    def close(self) -> None:
        """Stop the live display, keep its final lines, and give logging back its handlers."""
        if self._live:
            self._progress.stop()
            self._live = False
        self._logs.restore()


def progress_for(console: Console, *, enabled: bool) -> StageProgress:
    """Terminal progress when enabled and stderr is a terminal, silence otherwise."""
    if enabled and console.is_terminal:
        return TerminalProgress(console)
    return SilentProgress()
