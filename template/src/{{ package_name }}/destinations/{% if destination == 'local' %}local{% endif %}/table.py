"""The local destination: a Delta Lake table in a folder (see `delta_table.py`).

Readers open the folder with any Delta reader (`polars.scan_delta(path)`, DuckDB's
`delta_scan`, `deltalake.DeltaTable(path)`, Spark's `format("delta")`). A run's staged rows wait in
`<path>/_staging/<run_id>/`, on the same disk; Delta readers and vacuum ignore folders whose
name starts with `_`.
"""

from __future__ import annotations

from pathlib import Path

from ...pipeline.contract import DatasetContract
from ...sources.selection import SourceState, StateAdvance
from ..delta_table import DeltaTableDestination, TableLocation, read_committed_state
from ..protocol import Replacement
from .configuration import DestinationSettings

STAGING = "_staging"


def table_location(settings: DestinationSettings) -> TableLocation:
    """The table folder `settings` name, as an absolute path."""
    path = settings.path.absolute()

    def earlier_layout() -> str | None:
        """The snapshot dataset of template versions before Delta (a `current` link to a
        folder in `_snapshots/`), when no table is there yet."""
        if (path / "_delta_log").exists():
            return None
        if (path / "current").is_symlink() or (path / "_snapshots").is_dir():
            return "a snapshot dataset (current/ and _snapshots/)"
        return None

    return TableLocation(
        uri=str(path),
        storage_options=None,
        setting="destination.path",
        earlier_layout=earlier_layout,
    )


def open_destination(
    settings: DestinationSettings,
    *,
    contract: DatasetContract,
    runs_dir: Path,
    replaces: Replacement,
    advance: StateAdvance | None = None,
) -> DeltaTableDestination:
    """The table `settings` name, merged on the contract's key (`advance`: the source state
    to commit with the rows)."""
    del runs_dir  # staged rows wait beside the table, on its disk
    return DeltaTableDestination(
        table_location(settings),
        contract=contract,
        staging_root=settings.path / STAGING,
        replaces=replaces,
        advance=advance,
        retention_hours=settings.retention_hours,
    )


def read_source_state(settings: DestinationSettings, *, runs_dir: Path) -> SourceState | None:
    """The source state committed with the table's current version, if any."""
    del runs_dir
    return read_committed_state(table_location(settings))
