"""Log records routed through a rich Console while a live display holds the terminal.

A live display redraws its lines in place. A logging handler writing straight to the same
terminal puts its text wherever the cursor is, in the middle of a progress line, and the
next redraw overwrites part of it. Printed through the display's console instead, each
record lands whole on its own line above the display. Handlers that write elsewhere (files,
OpenTelemetry's log handler) are left alone.
"""

from __future__ import annotations

import logging
import sys

from rich.console import Console


class ConsoleLogHandler(logging.Handler):
    """Prints each record through `console`, formatted and filtered as the handler it stands
    in for, so the lines keep their format (time, level, logger, trace id)."""

    def __init__(self, console: Console, replaced: logging.Handler) -> None:
        super().__init__(replaced.level)
        self.console = console
        self.replaced = replaced
        self.setFormatter(replaced.formatter)
        for record_filter in replaced.filters:
            self.addFilter(record_filter)

    def emit(self, record: logging.LogRecord) -> None:
        """Print the formatted record on its own line, taken literally (no markup)."""
        try:
            line = self.format(record)
            # soft_wrap: a long line is not folded into pieces that look like several records.
            self.console.print(line, markup=False, highlight=False, emoji=False, soft_wrap=True)
        except Exception:
            self.handleError(record)


def writes_to_the_terminal(handler: logging.Handler) -> bool:
    """A handler writing to the process's stdout or stderr (not a file)."""
    return (
        isinstance(handler, logging.StreamHandler)
        and not isinstance(handler, logging.FileHandler)
        and handler.stream in (sys.stderr, sys.stdout)
    )


def with_descendants(logger: logging.Logger) -> list[logging.Logger]:
    """`logger` and every logger below it that exists (all of them for the root logger)."""
    prefix = f"{logger.name}."
    below = [
        candidate
        for name, candidate in logging.Logger.manager.loggerDict.items()
        if isinstance(candidate, logging.Logger)
        and (logger is logging.root or name.startswith(prefix))
    ]
    return [logger, *below]


class LogsThroughConsole:
    """Swaps the terminal handlers of `logger` and the loggers below it for console ones,
    and back again. Below matters: libraries such as Dask's `distributed` give their own
    loggers a stderr handler and stop propagation.

    Must route before the display starts: a live display replaces sys.stderr with its own
    proxy, after which the handlers' streams no longer compare equal to it.
    """

    def __init__(self, console: Console, logger: logging.Logger) -> None:
        self.console = console
        self.logger = logger
        self._routed: list[tuple[logging.Logger, ConsoleLogHandler]] = []

    def route(self) -> None:
        """Replace each terminal handler, in place, by one printing through the console."""
        for logger in with_descendants(self.logger):
            for index, handler in enumerate(logger.handlers):
                if writes_to_the_terminal(handler):
                    routed = ConsoleLogHandler(self.console, handler)
                    logger.handlers[index] = routed
                    self._routed.append((logger, routed))

    def restore(self) -> None:
        """Put the original handlers back where the console ones are (idempotent)."""
        for logger, routed in self._routed:
            if routed in logger.handlers:
                logger.handlers[logger.handlers.index(routed)] = routed.replaced
        self._routed.clear()
