"""The declared shape of a dataset: columns with engine-neutral types, key and partitioning.

Teams declare their datasets in `contracts/`; engines map these types to their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ColumnType(StrEnum):
    """Engine-neutral column types a source is conformed to."""

    STRING = "string"
    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"  # UTC; text needs an ISO-8601 offset (`Z` or `+02:00`)


@dataclass(frozen=True)
class Column:
    """One declared source column. `required` columns must exist in every input file."""

    name: str
    type: ColumnType
    required: bool = True
    description: str = ""


@dataclass(frozen=True)
class DatasetContract:
    """A dataset's declared source columns, its business key and its partition column."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    partition_by: str

    def __post_init__(self) -> None:
        names = [column.name for column in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"contract {self.name!r} declares a column twice: {names}")
        missing_key = [name for name in self.key if name not in names]
        if missing_key:
            raise ValueError(f"contract {self.name!r}: key columns {missing_key} are not declared")

    @property
    def column_names(self) -> tuple[str, ...]:
        """Declared column names in declaration order."""
        return tuple(column.name for column in self.columns)
