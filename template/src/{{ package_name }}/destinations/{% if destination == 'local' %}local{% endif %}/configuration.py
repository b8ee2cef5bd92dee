"""What can be configured about the local destination, and the doctor's check of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ...reachability import check_writable
from ...settings_migration import refuse_retired

_RETIRED = {
    "keep_snapshots": "the destination is a Delta table now; remove keep_snapshots and set "
    "retention_hours (how long old versions stay restorable; docs/destination.md)",
}


class DestinationSettings(BaseModel):
    """The `[destination]` settings section (`PIPELINE_DESTINATION__<KEY>`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_retired_settings(cls, values: Any) -> Any:
        return refuse_retired(values, _RETIRED, "destination")

    path: Path = Field(
        default=Path("data/output/orders"),
        description="Folder of the Delta Lake table; readers open this folder.",
    )
    retention_hours: int = Field(
        default=168,
        ge=1,
        le=87_600,
        description=(
            "Versions younger than this stay readable for time travel and rollback; files "
            "only older versions need are vacuumed after each run."
        ),
    )
    target_file_mib: int = Field(
        default=128,
        ge=1,
        le=4096,
        description=(
            "`maintain` compacts small files into files of about this size (MiB); runs and "
            "stream micro-batches each write files of their own."
        ),
    )


def describe_destination(settings: DestinationSettings) -> str:
    """The doctor's line for the destination; raises ValueError naming what to fix."""
    return check_writable(settings.path, "destination.path")
