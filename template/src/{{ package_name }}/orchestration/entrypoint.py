"""The one call every orchestrator makes: run the pipeline for a partition.

Orchestrator files (DAGs, definitions, flows, state machines) call these functions and map
the error classes onto their own retry policies: only `TransientError` is worth a retry.
Settings are read when a run starts, never at import time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ..build_info import build_info
from ..errors import ConfigurationError
from ..pipeline.manifest import ManifestStore
from ..pipeline.progress import StageProgress
from ..pipeline.runner import Pipeline, PipelineRunner, RunResult, new_run_id
from ..settings import Settings, load_settings
from ..telemetry import Telemetry, configure_telemetry


def run_partition(
    partition: date | None = None,
    *,
    config_file: Path | None = None,
    settings: Settings | None = None,
    telemetry: Telemetry | None = None,
    progress: StageProgress | None = None,
    run_id: str | None = None,
) -> RunResult:
    """Run once, for one partition (or every partition when None).

    Raises ConfigurationError, DataContractError, TransientError or, for a bug, CodeError
    (all PipelineError, with `exit_code` and `retryable`) after the run's manifest is written.
    """
    settings = settings or load_settings(config_file)
    owns_telemetry = telemetry is None
    telemetry = telemetry or configure_telemetry(settings.telemetry, build_info())
    if owns_telemetry:
        telemetry.attach_logging(logging.getLogger())

    def assemble() -> Pipeline[Any]:
        # Imported inside the run: the engine only when a run starts, and the team's code
        # (transforms, rules, contracts) so that an error importing it leaves a manifest.
        from ..composition import build_pipeline

        return build_pipeline(settings, partition)

    try:
        runner = PipelineRunner(
            assemble,
            info=build_info(),
            instruments=telemetry.instruments(),
            manifests=ManifestStore(settings.runs_dir),
            progress=progress,
        )
        return runner.run(run_id or new_run_id(), partition)
    finally:
        if owns_telemetry:
            telemetry.shutdown()


def partitions_between(start: date, end: date) -> Iterator[date]:
    """Every daily partition from `start` to `end`, both included."""
    if end < start:
        raise ConfigurationError(
            f"backfill end {end} is before its start {start}: swap --start and --end"
        )
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)
