"""Error classes of the delivery contract, each with its own process exit code.

Orchestrators key their retry policies off these codes: only transient errors are worth a
retry; configuration and data-contract errors fail the same way every time.
"""

from __future__ import annotations

import errno
import os
import re
from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes (BSD sysexits values, so shells and schedulers recognise them)."""

    OK = 0
    DATA_CONTRACT = 65  # EX_DATAERR: the input broke the contract; rerunning will not help
    INTERNAL = 70  # EX_SOFTWARE: a bug; the message and trace say where
    TRANSIENT = 75  # EX_TEMPFAIL: infrastructure hiccup; retry with backoff
    CONFIGURATION = 78  # EX_CONFIG: a setting is missing or wrong; fix it and rerun


class PipelineError(Exception):
    """Base of every classified pipeline error."""

    exit_code: ExitCode = ExitCode.INTERNAL
    error_class: str = "internal"
    retryable: bool = False


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
