"""The S3 destination: a Delta Lake table under `s3://<bucket>/<prefix>/` (see
`delta_table.py`).

Readers open the URI with any Delta reader (Spark, Athena, Trino, DuckDB, Polars
`scan_delta`). Commits use S3 conditional writes (`If-None-Match`), so two writers never
both win a version, with no lock table. A run's staged rows wait in the local
`destination.staging_dir` until the commit uploads them.
"""

from __future__ import annotations

from pathlib import Path

from ...credentials import resolve_access_keys
from ...pipeline.contract import DatasetContract
from ...s3_client import S3Client
from ...sources.selection import SourceState, StateAdvance
from ..delta_table import DeltaTableDestination, TableLocation, read_committed_state
from ..protocol import Replacement
from .configuration import DestinationSettings

STAGING = "_staging"
EARLIER_POINTER = "_current.json"  # the commit marker of template versions before Delta


def table_location(settings: DestinationSettings) -> TableLocation:
    """The table's URI and what delta-rs needs to reach it (credentials resolved here, from
    the settings or their Secrets Manager references; none: the default AWS chain)."""
    options = {
        "aws_conditional_put": "etag",
        "timeout": f"{round(settings.timeout_seconds * 1000)}ms",
    }
    if settings.region:
        options["aws_region"] = settings.region
    if settings.endpoint_url:
        options["aws_endpoint_url"] = settings.endpoint_url
        options["aws_allow_http"] = str(settings.endpoint_url.startswith("http://")).lower()
    key_id, secret_key = resolve_access_keys(settings)
    if key_id is not None and secret_key is not None:
        options["aws_access_key_id"] = key_id.get_secret_value()
        options["aws_secret_access_key"] = secret_key.get_secret_value()
    return TableLocation(
        uri=f"s3://{settings.bucket}/{settings.prefix}",
        storage_options=options,
        setting="destination.bucket and destination.prefix",
        earlier_layout=lambda: _earlier_layout(settings),
    )


def _earlier_layout(settings: DestinationSettings) -> str | None:
    """The snapshot dataset of template versions before Delta (a `_current.json` pointer
    to a manifest of objects), when no table is under the prefix yet."""
    s3 = S3Client.connect(settings)
    prefix = settings.prefix.rstrip("/")
    if s3.get(f"{prefix}/{EARLIER_POINTER}") is None:
        return None
    if next(iter(s3.list_keys(f"{prefix}/_delta_log/")), None) is not None:
        return None
    return f"a snapshot dataset ({EARLIER_POINTER} and the objects it names)"


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
    del runs_dir  # staged rows wait in destination.staging_dir
    return DeltaTableDestination(
        table_location(settings),
        contract=contract,
        staging_root=settings.staging_dir / STAGING,
        replaces=replaces,
        advance=advance,
        retention_hours=settings.retention_hours,
    )


def read_source_state(settings: DestinationSettings, *, runs_dir: Path) -> SourceState | None:
    """The source state committed with the table's current version, if any."""
    del runs_dir
    return read_committed_state(table_location(settings))
