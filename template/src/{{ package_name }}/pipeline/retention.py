"""Retention of the runs folder: finished runs' folders (manifest, quarantine file) older than
`runs_retention_days` are deleted when a run starts (a stream consumer, which starts a run
per micro-batch, sweeps at most every 10 minutes: `runner.SWEEP_INTERVAL_SECONDS`).

Only folders named like a run id (`20261125T181500Z-3f9a1c2b`) that hold a manifest are
candidates: the manifest is written last, so a folder without one belongs to a run still in
progress (or killed) and is never touched, nor is the current run's. A run's age counts from
its start, which its id records. Each folder is first moved into `_expired/` (one rename),
so a reader never sees half a run; what a killed sweep left there goes on the next sweep.
"""

from __future__ import annotations

import logging
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .manifest import MANIFEST_FILE, RUN_ID_TIME

logger = logging.getLogger(__name__)

RUN_ID = re.compile(r"^(\d{8}T\d{6}Z)-[0-9a-f]{8}$")
EXPIRED = "_expired"


def run_started_at(name: str) -> datetime | None:
    """When the run a folder is named after started; None for a folder that is no run's."""
    match = RUN_ID.match(name)
    if match is None:
        return None
    return datetime.strptime(match.group(1), RUN_ID_TIME).replace(tzinfo=UTC)


def expired_runs(
    runs_dir: Path, *, retention_days: int, current_run_id: str, now: datetime
) -> list[Path]:
    """The finished runs' folders that started more than `retention_days` before `now`."""
    if not runs_dir.is_dir():
        return []
    cutoff = now - timedelta(days=retention_days)
    expired = []
    for entry in sorted(runs_dir.iterdir()):
        started = run_started_at(entry.name)
        if started is None or entry.name == current_run_id or entry.is_symlink():
            continue
        if started < cutoff and (entry / MANIFEST_FILE).is_file():
            expired.append(entry)
    return expired


def delete_expired_runs(
    runs_dir: Path, *, retention_days: int, current_run_id: str, now: datetime | None = None
) -> list[str]:
    """Delete the expired runs' folders; the run ids deleted. A folder that cannot be
    deleted is logged and kept: housekeeping never fails a run."""
    moment = now or datetime.now(UTC)
    deleted = []
    for folder in expired_runs(
        runs_dir, retention_days=retention_days, current_run_id=current_run_id, now=moment
    ):
        trash = runs_dir / EXPIRED / folder.name
        try:
            trash.parent.mkdir(exist_ok=True)
            folder.rename(trash)
        except FileNotFoundError:
            continue  # another run's sweep took it first
        except OSError as error:
            logger.warning("runs_retention_days: could not delete %s: %s", folder, error)
            continue
        deleted.append(folder.name)
    _empty(runs_dir / EXPIRED)
    if deleted:
        logger.info(
            "deleted %d run folder(s) older than runs_retention_days=%d: %s",
            len(deleted),
            retention_days,
            ", ".join(deleted),
        )
    return deleted


def _empty(trash: Path) -> None:
    """Delete what the trash folder holds (this sweep's runs, and any a killed sweep left)."""
    if not trash.is_dir():
        return
    for entry in trash.iterdir():
        shutil.rmtree(entry, ignore_errors=True)
        if entry.exists():
            logger.warning("runs_retention_days: could not delete all of %s", entry)
