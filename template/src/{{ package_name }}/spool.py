"""Local folders a run owns while it lives: source downloads, staged rows for a destination.

Each run's folder sits beside a lock file it holds (`flock`) until it is released. A killed
run's lock dies with its process, so the next run sweeps what is left without ever touching
the folder of a run still alive (two runs may share the root).
"""

from __future__ import annotations

import fcntl
import os
import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class OwnedFolder:
    """A run's folder and the descriptor of the lock that marks it alive."""

    path: Path
    lock_descriptor: int

    def release(self) -> None:
        """Delete the folder, then drop the lock."""
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.with_name(f"{self.path.name}.lock").unlink(missing_ok=True)
        os.close(self.lock_descriptor)


def open_owned_folder(root: Path, name: str) -> OwnedFolder:
    """Sweep folders of dead runs under `root`, then create and lock `root/name`."""
    root.mkdir(parents=True, exist_ok=True)
    sweep_abandoned(root)
    descriptor = os.open(root / f"{name}.lock", os.O_CREAT | os.O_RDWR, 0o600)
    owned = OwnedFolder(root / name, descriptor)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        owned.path.mkdir()
    except BaseException:  # a stop signal (pipeline/interruption.py) included
        owned.release()
        raise
    return owned


def sweep_abandoned(root: Path) -> None:
    """Delete folders whose run is gone: a live run holds the lock file beside its folder."""
    for entry in root.iterdir():
        if _orphan_lock(entry):
            entry.unlink(missing_ok=True)  # a run killed between its lock and its folder
            continue
        if not entry.is_dir():
            continue
        lock = root / f"{entry.name}.lock"
        descriptor = os.open(lock, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # a live run's folder
        else:
            shutil.rmtree(entry, ignore_errors=True)
            lock.unlink(missing_ok=True)
        finally:
            os.close(descriptor)


def _orphan_lock(entry: Path) -> bool:
    """A lock file no live run holds, with no folder beside it: its run was killed between
    taking the lock and creating the folder. (A run that has opened but not yet locked its
    file loses its folder at worst, and fails; nothing committed is touched.)"""
    if entry.suffix != ".lock" or entry.with_suffix("").exists():
        return False
    try:
        descriptor = os.open(entry, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)
    return True
