"""Checks `doctor` runs against the outside world: can we write here, can we connect there;
and the endpoint URLs those checks connect to (shared by every AWS client's settings)."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

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


def checked_endpoint_url(endpoint: str | None, example: str) -> str | None:
    """An http(s) endpoint URL without credentials or a trailing `/`; else ValueError (the
    message shows `example`, a URL of the service the setting is for)."""
    if endpoint is None:
        return None
    parts = urlsplit(endpoint)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"must be an http(s) URL such as {example!r}")
    if parts.username or parts.password:
        raise ValueError("must not hold credentials: use the access_key settings")
    return endpoint.rstrip("/")


def endpoint_host_port(endpoint_url: str | None, default_host: str) -> tuple[str, int]:
    """The host and port calls go to: the endpoint URL's, else `default_host` over HTTPS."""
    if endpoint_url is None:
        return default_host, 443
    parts = urlsplit(endpoint_url)
    default_port = 443 if parts.scheme == "https" else 80
    return parts.hostname or "", parts.port or default_port
