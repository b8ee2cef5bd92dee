"""Progress shown while a run works: a live stage display on a terminal, nothing otherwise."""

from __future__ import annotations

from typing import Protocol

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn


class StageProgress(Protocol):
    """Told when each stage starts and ends."""

    def started(self, stage: str) -> None:
        """A stage began."""
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

    def finished(self, stage: str, rows: int) -> None:
        """Ignore."""

    def close(self) -> None:
        """Ignore."""


class TerminalProgress:
    """A spinner per stage with elapsed time, replaced by its row count when done."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._tasks: dict[str, TaskID] = {}
        self._progress.start()

    def started(self, stage: str) -> None:
        """Show the stage as running."""
        self._tasks[stage] = self._progress.add_task(f"{stage}...", total=1)

    def finished(self, stage: str, rows: int) -> None:
        """Mark the stage done with its row count."""
        task = self._tasks[stage]
        self._progress.update(task, description=f"{stage}: {rows:,} rows", completed=1)

    def close(self) -> None:
        """Stop the live display."""
        self._progress.stop()


def progress_for(console: Console, *, enabled: bool) -> StageProgress:
    """Terminal progress when enabled and stderr is a terminal, silence otherwise."""
    if enabled and console.is_terminal:
        return TerminalProgress(console)
    return SilentProgress()
