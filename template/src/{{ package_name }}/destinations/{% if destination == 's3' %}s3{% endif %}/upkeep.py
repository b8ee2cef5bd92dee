"""Upkeep of the s3 destination's Delta table under its S3 prefix: `cli maintain`
(compaction, vacuum, the source state carried forward, a checkpoint: `delta_upkeep.py`)."""

from __future__ import annotations

from pathlib import Path

from ..delta_upkeep import UpkeepPolicy, maintain_table
from ..upkeep_report import UpkeepReport
from .configuration import DestinationSettings
from .table import table_location


def maintain(
    settings: DestinationSettings, *, runs_dir: Path, run_id: str, dry_run: bool = False
) -> UpkeepReport:
    """Compact, vacuum and checkpoint the table `settings` name; with `dry_run`, only count
    its files and what vacuum would delete."""
    del runs_dir  # nothing of the upkeep waits locally
    policy = UpkeepPolicy(
        retention_hours=settings.retention_hours,
        target_file_bytes=settings.target_file_mib << 20,
    )
    return maintain_table(table_location(settings), policy, run_id=run_id, dry_run=dry_run)
