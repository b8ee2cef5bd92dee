"""Settings earlier template versions had and this one dropped: refused by name, with what
replaced them, instead of pydantic's bare "extra inputs are not permitted"."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def refuse_retired(values: Any, retired: Mapping[str, str], section: str) -> Any:
    """Raise ValueError naming the first retired key `values` sets and what to do instead;
    return `values` unchanged otherwise (a pydantic `mode="before"` validator's input)."""
    if isinstance(values, Mapping):
        for key, instead in retired.items():
            if key in values:
                raise ValueError(f"{section}.{key} is no longer a setting: {instead}")
    return values
