"""Error classes of the delivery contract, each with its own process exit code.

Orchestrators key their retry policies off these codes: only transient errors are worth a
retry; configuration and data-contract errors fail the same way every time.
"""

from __future__ import annotations

import errno
import os
import re
import traceback
from enum import IntEnum
from pathlib import Path

from .redaction import redact


class ExitCode(IntEnum):
    """Process exit codes (BSD sysexits values, so shells and schedulers recognise them)."""

    OK = 0
    DATA_CONTRACT = 65  # EX_DATAERR: the input broke the contract; rerunning will not help
    INTERNAL = 70  # EX_SOFTWARE: a bug; the message and trace say where
    TRANSIENT = 75  # EX_TEMPFAIL: infrastructure hiccup; retry with backoff
    CONFIGURATION = 78  # EX_CONFIG: a setting is missing or wrong; fix it and rerun


class PipelineError(Exception):
    """Base of every classified pipeline error.

    Its text is redacted (`redaction.py`): whatever a message was built from (a server's
    answer, a setting's value), the manifest, `--json`, the console and spans get it
    without secrets.
    """

    exit_code: ExitCode = ExitCode.INTERNAL
    error_class: str = "internal"
    retryable: bool = False

    def __str__(self) -> str:
        """The message, redacted."""
        return redact(super().__str__())

    def record(self) -> dict[str, object]:
        """The error as the run's manifest and `--json` report it."""
        return {"class": self.error_class, "exit_code": int(self.exit_code), "message": str(self)}


class ConfigurationError(PipelineError):
    """A setting is missing or invalid. The message names the setting and how to set it."""

    exit_code = ExitCode.CONFIGURATION
    error_class = "configuration"


class DataContractError(PipelineError):
    """The data broke the contract (schema, a `fail` rule, conservation). Terminal."""

    exit_code = ExitCode.DATA_CONTRACT
    error_class = "data_contract"


class TransientError(PipelineError):
    """An infrastructure error that may succeed on retry (I/O, network, a held lock)."""

    exit_code = ExitCode.TRANSIENT
    error_class = "transient"
    retryable = True


class StaleStateError(TransientError):
    """Another run committed source state this run had read: nothing was committed, and the
    run must read its source again from what is committed now."""


# The team's own code (`copier update` leaves it alone): a bug there is theirs to fix.
_PACKAGE = Path(__file__).resolve().parent
TEAM_CODE = (_PACKAGE / "transforms", _PACKAGE / "contracts", _PACKAGE / "validation/rules.py")
# Frames of a traceback kept (the innermost): where it broke and the calls that led there.
TRACEBACK_FRAMES = 12


class CodeError(PipelineError):
    """An exception nothing classified: a bug, in the team's code (`team_code`) or in the
    template's (`internal`). `where` is the file and line to open first; `trace` the
    innermost frames of its traceback (code and messages only, never variables' values)."""

    # Defaults let pickle (orchestrators' result stores) rebuild it from its message alone;
    # the attributes come back with the instance's dict.
    def __init__(
        self, message: str, *, error_class: str = "internal", where: str = "", trace: str = ""
    ) -> None:
        super().__init__(message)
        self.error_class = error_class
        self.where = where
        self.trace = redact(trace)

    def record(self) -> dict[str, object]:
        """The error with where it was raised and its traceback, line by line."""
        return {**super().record(), "where": self.where, "traceback": self.trace.splitlines()}


def unexpected_error(error: BaseException) -> CodeError:
    """An unclassified exception as a CodeError, pointing at the team's innermost frame when
    the traceback passes through their code, else at the frame that raised it."""
    frames = traceback.extract_tb(error.__traceback__)
    team = [index for index, frame in enumerate(frames) if _is_team_code(frame.filename)]
    # Keep the innermost frames, and always the team's innermost one.
    keep_from = min([*team[-1:], len(frames) - TRACEBACK_FRAMES])
    trace = "".join(
        [
            "Traceback (most recent call last, innermost frames):\n",
            *traceback.format_list(frames[max(keep_from, 0) :]),
            *traceback.format_exception_only(type(error), error),
        ]
    )
    summary = f"{type(error).__name__}: {error}"
    if team:
        blamed = frames[team[-1]]
        where = f"{_shown_path(blamed.filename)}:{blamed.lineno}"
        return CodeError(
            f"{summary}, raised in your code at {where} (in {blamed.name}): fix it there "
            "and rerun; the traceback shows the calls that led to it",
            error_class="team_code",
            where=where,
            trace=trace,
        )
    where = f"{_shown_path(frames[-1].filename)}:{frames[-1].lineno}" if frames else "unknown"
    return CodeError(
        f"unexpected {summary} at {where}, in the template's code (which also runs the plans "
        "your transforms build): the traceback shows the calls; report it if they are not "
        "the cause",
        error_class="internal",
        where=where,
        trace=trace,
    )


def as_pipeline_error(error: Exception) -> PipelineError:
    """`error` itself when it is classified, else the bug it reveals."""
    return error if isinstance(error, PipelineError) else unexpected_error(error)


def _is_team_code(filename: str) -> bool:
    path = Path(filename).resolve()
    return any(path == team or team in path.parents for team in TEAM_CODE)


def _shown_path(filename: str) -> str:
    """Relative to the working directory (the project, as the README runs it) when inside it."""
    path = Path(filename)
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return filename


def file_error(error: OSError, path: object, what: str) -> PipelineError:
    """The class of a failed file operation on `path` (`what`: the folder's role, e.g.
    "the runs folder (runs_dir)"): a full disk is worth a retry once space is freed; a
    read-only mount or denied access is configuration; anything else is transient I/O."""
    reason = error.strerror or type(error).__name__
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return TransientError(f"{what}: no space left for {path}: free space, then rerun")
    if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return ConfigurationError(
            f"{what}: {path} is not writable ({reason}): fix the mount or its permissions"
        )
    return TransientError(f"{what}: {reason} at {path}")


# How Rust libraries (Polars, delta-rs) report an operating-system error in their messages.
_OS_ERROR_TEXT = re.compile(r"\(os error (\d+)\)")


def reported_os_error(error: BaseException) -> OSError | None:
    """The operating-system error an engine reports only as text ("... No space left on
    device (os error 28)"), as an OSError for `file_error`; None when it names none."""
    match = _OS_ERROR_TEXT.search(str(error))
    if match is None:
        return None
    number = int(match.group(1))
    return OSError(number, os.strerror(number))
