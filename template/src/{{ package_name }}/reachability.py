"""Checks `doctor` runs against the outside world: can we write here, can we connect there."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

CONNECT_TIMEOUT_SECONDS = 2.0


def check_writable(path: Path, setting: str) -> str:
    """Say `path` is writable, or raise ValueError naming `setting` and what to do."""
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"{setting} {str(path)!r}: {existing} is not a directory")
    if not os.access(existing, os.W_OK):
        raise ValueError(
            f"{setting} {str(path)!r}: no write permission on {existing}; choose a writable path"
        )
    with tempfile.TemporaryFile(dir=existing):
        pass
    return f"{path} is writable"


def check_connectable(host: str, port: int, what: str, fix: str) -> None:
    """Open and close a TCP connection, or raise ValueError saying `what` is unreachable."""
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_SECONDS):
            pass
    except OSError as error:
        raise ValueError(f"{what} {host}:{port} is unreachable ({error}): {fix}") from None
