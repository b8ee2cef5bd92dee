"""Operational policy: how much quarantine a run may commit with, what a partition's missing
input means, how long run records stay.

The values are settings (`max_quarantine_ratio`, `late_input`, `runs_retention_days` in
settings.py, documented in the README); the defaults live here, so the settings and a
runner built without settings agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from ..errors import DataContractError, PipelineError, TransientError
from .manifest import Counts

DEFAULT_MAX_QUARANTINE_RATIO = 0.5
DEFAULT_RUNS_RETENTION_DAYS = 30
LateInput = Literal["retry", "fail"]
DEFAULT_LATE_INPUT: LateInput = "retry"


class QuarantineRatioExceeded(DataContractError):
    """More of the run's rows were quarantined than `max_quarantine_ratio` allows."""


@dataclass(frozen=True)
class RunPolicy:
    """What the runner enforces besides the delivery contract."""

    max_quarantine_ratio: float = DEFAULT_MAX_QUARANTINE_RATIO
    # None keeps every run's folder (a runner built without settings).
    runs_retention_days: int | None = DEFAULT_RUNS_RETENTION_DAYS

    def check_quarantine(self, counts: Counts) -> None:
        """Refuse to commit a run whose quarantined share of the rows read is above the
        threshold: an input that is mostly rejected is broken, not dirty."""
        if not counts.read:
            return
        ratio = counts.quarantined / counts.read
        if ratio > self.max_quarantine_ratio:
            raise QuarantineRatioExceeded(
                f"{counts.quarantined} of {counts.read} rows read were quarantined "
                f"(ratio {ratio:.4f}), above max_quarantine_ratio {self.max_quarantine_ratio} "
                "(PIPELINE_MAX_QUARANTINE_RATIO); nothing was committed. Look at the run's "
                "quarantine file for the reasons, fix the input, or raise the threshold"
            )


def late_input_error(partition: date, expected: str, policy: LateInput) -> PipelineError:
    """The error a partition run without input (`expected`: the path or pattern that
    matches nothing) ends with: transient (exit 75, so the orchestrator retries until the
    file lands) or, when the team says so, terminal (65)."""
    what = (
        f"no input for partition {partition}: {expected} matches nothing yet "
        f'(late_input = "{policy}", PIPELINE_LATE_INPUT)'
    )
    if policy == "retry":
        return TransientError(f"{what}; retry once the input has landed")
    return DataContractError(
        f'{what}; the run fails without retry. Set late_input = "retry" to have the '
        "orchestrator retry until it lands"
    )
