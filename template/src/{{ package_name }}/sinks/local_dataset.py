"""A local dataset committed as whole snapshots, switched atomically.

Layout under the dataset root:

    current -> _snapshots/<run_id>      readers use this path; replaced by one atomic rename
    _snapshots/<run_id>/<key>=<value>/  committed snapshots (older ones kept for rollback)
    _staging/<run_id>/                  a run's output while it is written; never read

A run writes its partitions into staging, carries the partitions it did not touch over from
the current snapshot (hard links: no copying), then renames staging into `_snapshots/` and
repoints `current`. A run killed at any moment leaves `current` as it was; the next run
sweeps its staging away. Rewriting a partition replaces it whole, so reruns are idempotent
per partition. An exclusive lock keeps two runs from committing at once.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import TransientError

CURRENT = "current"
SNAPSHOTS = "_snapshots"
STAGING = "_staging"
LOCK_FILE = ".lock"


@dataclass(frozen=True)
class StagedSnapshot:
    """A snapshot being written: where, and which partitions this run wrote."""

    run_id: str
    path: Path


class LocalSnapshotDataset:
    """Stages, commits and prunes snapshots of a partitioned dataset on a local disk."""

    def __init__(self, root: Path, *, keep_snapshots: int) -> None:
        self.root = root
        self.keep_snapshots = keep_snapshots
        self._lock_fd: int | None = None

    @property
    def current(self) -> Path:
        """The path readers use."""
        return self.root / CURRENT

    def begin(self, run_id: str) -> StagedSnapshot:
        """Take the dataset lock, sweep abandoned staging, and open a staging folder."""
        self.root.mkdir(parents=True, exist_ok=True)
        self._acquire_lock()
        staging_root = self.root / STAGING
        # Holding the lock means no live run owns anything in staging: it is debris.
        shutil.rmtree(staging_root, ignore_errors=True)
        staging = staging_root / run_id
        staging.mkdir(parents=True)
        return StagedSnapshot(run_id=run_id, path=staging)

    def carry_over(
        self, staged: StagedSnapshot, rewritten: frozenset[str] = frozenset()
    ) -> tuple[str, ...]:
        """Hard-link partitions of the current snapshot this run did not write.

        Partitions named in `rewritten` are not carried even when the run left them empty.
        Returns the partitions the run wrote itself.
        """
        written = tuple(sorted(entry.name for entry in staged.path.iterdir() if entry.is_dir()))
        current = self.current_snapshot()
        if current is not None:
            for partition in current.iterdir():
                skip = partition.name in written or partition.name in rewritten
                if partition.is_dir() and not skip:
                    shutil.copytree(partition, staged.path / partition.name, copy_function=os.link)
        return written

    def commit(self, staged: StagedSnapshot) -> Path:
        """Publish the staged snapshot with one atomic rename of the `current` link."""
        try:
            snapshot = self.root / SNAPSHOTS / staged.run_id
            snapshot.parent.mkdir(exist_ok=True)
            _fsync_tree(staged.path)
            staged.path.rename(snapshot)
            link = self.root / f".{CURRENT}.{staged.run_id}"
            link.unlink(missing_ok=True)
            link.symlink_to(Path(SNAPSHOTS) / staged.run_id, target_is_directory=True)
            link.replace(self.current)
            _fsync_dir(self.root)
            self._prune(keep=snapshot)
            return snapshot
        finally:
            self._release_lock()

    def abort(self, staged: StagedSnapshot) -> None:
        """Drop the staged snapshot; `current` is untouched."""
        try:
            shutil.rmtree(staged.path, ignore_errors=True)
        finally:
            self._release_lock()

    def current_snapshot(self) -> Path | None:
        """The committed snapshot folder, or None before the first commit."""
        return self.current.resolve() if self.current.is_symlink() else None

    def _prune(self, keep: Path) -> None:
        """Delete the oldest snapshots beyond `keep_snapshots` (never the current one)."""
        snapshots = sorted(
            (entry for entry in (self.root / SNAPSHOTS).iterdir() if entry.is_dir()),
            key=lambda entry: entry.name,
        )
        for old in snapshots[: max(0, len(snapshots) - self.keep_snapshots)]:
            if old.resolve() != keep.resolve():
                shutil.rmtree(old, ignore_errors=True)

    def _acquire_lock(self) -> None:
        descriptor = os.open(self.root / LOCK_FILE, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise TransientError(
                f"another run holds the lock on {self.root}: wait for it to finish and retry"
            ) from None
        self._lock_fd = descriptor

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None


def _fsync_tree(root: Path) -> None:
    """Flush written files and folders, so a committed snapshot survives a power cut."""
    for folder, _, files in os.walk(root):
        for name in files:
            descriptor = os.open(Path(folder) / name, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        _fsync_dir(Path(folder))


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
