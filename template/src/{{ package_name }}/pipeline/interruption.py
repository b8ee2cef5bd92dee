"""Stopping on SIGTERM (Kubernetes eviction, rollout) and SIGINT (Ctrl-C) at a safe point.

The CLI installs `stop_on_signals()` for a command. The handler only notes the signal: an
exception raised from a handler lands wherever Python happens to be, including inside an
engine's callbacks (Polars panics then) or a database driver's protocol. The runner instead
calls `checkpoint()` between stages and before its commit; there `RunInterrupted` unwinds
the run, which sweeps its staging, writes its manifest with status `interrupted` and
re-raises, and the CLI exits 128 + the signal's number (143, 130). A long native step (an
engine writing the staged rows) finishes first. (Polars stops its own queries on SIGINT with
a KeyboardInterrupt; the runner treats it the same way.)

From the moment a run starts its commit (`defer_signals()`), checkpoints let the signal
wait: the commit is one atomic step, so the run finishes it and writes its manifest, and
the command honours the signal when it `rearm()`s (a backfill, before its next
partition). SIGKILL remains the hard stop, and nothing the pipeline does is torn by it
(see tests/test_kill.py).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class RunInterrupted(KeyboardInterrupt):
    """A stop signal ended the run. A KeyboardInterrupt, so that no `except Exception` in a
    stage or in the team's code swallows it, and a caller that stops on Ctrl-C stops on it."""

    def __init__(self, signal_number: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signal_number).name}")
        self.signal_number = signal_number
        # Set by the runner: what the run's manifest says, and where it is.
        self.detail: str | None = None
        self.manifest: str | None = None

    @property
    def signal_name(self) -> str:
        """`SIGTERM` or `SIGINT`."""
        return signal.Signals(self.signal_number).name

    @property
    def exit_code(self) -> int:
        """What a shell reports for a process a signal ended: 128 + its number."""
        return 128 + self.signal_number


@dataclass
class SignalStop:
    """The stop signal one command received, and whether it waits for a commit."""

    deferred: bool = False
    stopping: bool = False
    received: int | None = None

    def checkpoint(self) -> None:
        """A safe point: raise a signal received, unless it waits for a commit."""
        if self.received is not None and not self.deferred and not self.stopping:
            self.stopping = True
            raise RunInterrupted(self.received)

    def rearm(self) -> None:
        """Between runs (a backfill's partitions): a waiting signal stops the command now,
        else the next signal stops the next run at its next checkpoint."""
        self.deferred = False
        self.checkpoint()

    def handle(self, signal_number: int, frame: FrameType | None) -> None:
        """The signal handler: note the signal (the run stops at its next checkpoint)."""
        del frame
        name = signal.Signals(signal_number).name
        if self.received is not None:
            _say(f"{name} received: already stopping (SIGKILL stops at once)")
            return
        self.received = signal_number
        if self.deferred:
            _say(f"{name} received: the run finishes its commit first, then stops")
        else:
            _say(f"{name} received: stopping at the next safe point")


_active: SignalStop | None = None


@contextmanager
def stop_on_signals() -> Iterator[SignalStop]:
    """SIGTERM and SIGINT stop the command's runs cleanly; the previous handlers come back
    after. Outside the main thread (an orchestrator's worker) signals are left alone."""
    global _active  # signal handlers are process-wide
    stop = SignalStop()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {number: signal.getsignal(number) for number in STOP_SIGNALS}
    for number in STOP_SIGNALS:
        signal.signal(number, stop.handle)
    _active = stop
    try:
        yield stop
    finally:
        _active = None
        for number, handler in previous.items():
            signal.signal(number, handler)


def checkpoint() -> None:
    """A safe point of a run: raise RunInterrupted when a stop signal was received (nothing
    to do when no handler is installed, or while the signal waits for a commit)."""
    if _active is not None:
        _active.checkpoint()


def defer_signals() -> None:
    """The run is about to commit: from here a stop signal waits until the command
    `rearm()`s instead of interrupting (nothing to do when no handler is installed)."""
    if _active is None:
        return
    _active.deferred = True
    if threading.current_thread() is threading.main_thread():
        # An engine may have put its own handler in place meanwhile (PySpark does, for
        # SIGINT, raising in whatever runs): during the commit, only this one may act.
        for number in STOP_SIGNALS:
            signal.signal(number, _active.handle)


def _say(line: str) -> None:
    """One line on stderr from a signal handler: os.write, as the main thread may be in
    the middle of a buffered write to the same stream."""
    os.write(2, f"{line}\n".encode())
