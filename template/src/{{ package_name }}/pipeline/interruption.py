"""Stopping on SIGTERM (Kubernetes eviction, rollout) and SIGINT (Ctrl-C) at a safe point.

The CLI installs `stop_on_signals()` for a command. A signal then raises `RunInterrupted`
in the main thread at its next Python instruction (a native call, such as an engine's write,
finishes first): the runner sweeps the run's staging, writes its manifest with status
`interrupted` and re-raises, and the CLI exits 128 + the signal's number (143, 130).

From the moment a run starts its commit (`defer_signals()`), a signal waits instead: the
commit is one atomic step, so the run finishes it and writes its manifest, and the caller
honours the signal at its next `checkpoint()` (a backfill, before its next partition).
While a run stops, further signals are ignored; SIGKILL remains the hard stop, and nothing
the pipeline does is torn by it (see tests/test_kill.py).
"""

from __future__ import annotations

import os
import signal
import sys
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
    """The stop signals of one command: a signal received while they were deferred."""

    deferred: bool = False
    stopping: bool = False
    received: int | None = None

    def checkpoint(self) -> None:
        """A safe point between runs: raise a signal that waited, else let the next
        signal stop the next run at once."""
        self.deferred = False
        if self.received is not None and not self.stopping:
            self.stopping = True
            raise RunInterrupted(self.received)

    def handle(self, signal_number: int, frame: FrameType | None) -> None:
        """The signal handler: stop now, or note the signal when it has to wait."""
        del frame
        name = signal.Signals(signal_number).name
        if self.stopping:
            _say(f"{name} received: already stopping (SIGKILL stops at once)")
            return
        if isinstance(sys.exc_info()[1], (RunInterrupted, KeyboardInterrupt)):
            # The run is already unwinding from an interrupt (Polars, for one, raises
            # KeyboardInterrupt itself on SIGINT): raising again would cut its cleanup short.
            self.stopping = True
            self.received = signal_number
            return
        if self.deferred:
            self.received = self.received or signal_number
            _say(f"{name} received: the run finishes its commit first, then stops")
            return
        self.stopping = True
        self.received = signal_number
        raise RunInterrupted(signal_number)


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


def defer_signals() -> None:
    """The run is about to commit: from here a stop signal waits for the command's next
    `checkpoint()` instead of interrupting (nothing to do when no handler is installed)."""
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
