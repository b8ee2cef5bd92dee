"""What can be configured about the PostgreSQL destination, and the doctor's check of it."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from ...postgres_connection import MAX_IDENTIFIER_BYTES, ServerSettings, identifier_problem
from ...reachability import check_connectable

SchemaPolicy = Literal["evolve", "freeze"]

# Each table has a commit log beside it, `<table>_commits`, owned by the same role.
COMMITS_SUFFIX = "_commits"


class DestinationSettings(ServerSettings):
    """The `[destination]` settings section (`PIPELINE_DESTINATION__<KEY>`)."""

    # `schema` is the setting's name; the attribute is `schema_name` (BaseModel has `schema`).
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    user: str = Field(default="pipeline", min_length=1, description="Role the loader logs in as.")
    schema_name: str = Field(
        default="public",
        alias="schema",
        description="Schema of the target table (created when missing, given the privilege).",
    )
    table: str = Field(
        default="orders",
        description="Target table, created on the first run, with its commit log "
        f"`<table>{COMMITS_SUFFIX}`.",
    )
    schema_policy: SchemaPolicy = Field(
        default="evolve",
        description="New columns: `evolve` adds them, `freeze` fails before any write.",
    )
    spool_dir: Path | None = Field(
        default=None,
        description="Local folder for rows waiting for COPY; unset: `<runs_dir>/_spool`.",
    )

    @field_validator("schema_name")
    @classmethod
    def _is_identifier(cls, value: str) -> str:
        problem = identifier_problem(value)
        if problem:
            raise ValueError(f"a PostgreSQL identifier {problem}")
        return value

    @field_validator("table")
    @classmethod
    def _leaves_room_for_the_commit_log(cls, value: str) -> str:
        problem = identifier_problem(value, MAX_IDENTIFIER_BYTES - len(COMMITS_SUFFIX))
        if problem:
            raise ValueError(f"a table name {problem}: `{COMMITS_SUFFIX}` names its commit log")
        return value

    @property
    def commits_table(self) -> str:
        """The commit log: one row per committed run, written in the run's transaction."""
        return f"{self.table}{COMMITS_SUFFIX}"

    @property
    def location(self) -> str:
        """Where readers find the rows; never holds credentials."""
        return self.table_location(self.schema_name, self.table)


def describe_destination(settings: DestinationSettings) -> str:
    """The doctor's line for the destination; raises ValueError naming what to fix."""
    from .table import check_login

    if not settings.host.startswith("/"):
        check_connectable(
            settings.host,
            settings.port,
            "destination PostgreSQL server",
            "check destination.host and destination.port, and that the NetworkPolicy allows it",
        )
    return check_login(settings)
