"""The declared shape of a dataset: columns with engine-neutral types, key and partitioning.

Teams declare their datasets in `contracts/`; engines map these types to their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ColumnType(StrEnum):
    """Engine-neutral column types a source is conformed to. Which text and which typed
    input become a value of each: docs/value-grammar.md."""

    STRING = "string"
    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"  # UTC; text needs an ISO-8601 offset (`Z` or `+02:00`)


@dataclass(frozen=True)
class Column:
    """One declared source column. `required` columns must exist in every input file.

    `allow_non_finite` (FLOAT only) accepts NaN and infinities as values; by default they
    are type mismatches, quarantined like any value that is not a number.
    """

    name: str
    type: ColumnType
    required: bool = True
    description: str = ""
    allow_non_finite: bool = False

    def __post_init__(self) -> None:
        if self.allow_non_finite and self.type is not ColumnType.FLOAT:
            raise ValueError(
                f"column {self.name!r}: allow_non_finite applies to FLOAT columns only "
                f"(this one is {self.type.value})"
            )


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
