"""Whole-file writes readers never see half done: write a temporary sibling, then rename."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomically(
    target: Path, write: Callable[[Path], None], *, scratch: Path | None = None
) -> None:
    """Call `write(temporary)` for a temporary file beside `target` (or in `scratch`, a
    run-owned folder on the same file system, which the next run sweeps if this one is
    killed), then rename it over `target` in one step; on any failure the temporary file is
    removed and `target` is left as it was."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        dir=scratch or target.parent, prefix=f".{target.stem}.", suffix=target.suffix, delete=False
    ) as handle:
        temporary = Path(handle.name)
    try:
        write(temporary)
        temporary.replace(target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
