"""The one place where settings, the engine and the team's code are wired into a pipeline."""

from __future__ import annotations

from datetime import date

import polars as pl

from .contracts.orders import ORDERS
from .engines.polars_engine import (
    PolarsFileExtractor,
    PolarsParquetLoader,
    PolarsQuarantineWriter,
    PolarsTransformer,
    PolarsValidator,
)
from .pipeline.runner import Pipeline
from .settings import Settings
from .sinks.local_dataset import LocalSnapshotDataset
from .sources.local_files import discover_source_files
from .transforms.orders import transform
from .validation.rules import RULES


def build_pipeline(settings: Settings, partition: date | None = None) -> Pipeline[pl.LazyFrame]:
    """Assemble the stages for these settings: every partition, or just `partition`."""
    dataset = LocalSnapshotDataset(
        settings.destination.path, keep_snapshots=settings.destination.keep_snapshots
    )
    return Pipeline(
        extractor=PolarsFileExtractor(discover_source_files(settings.source, partition), ORDERS),
        transformer=PolarsTransformer(transform),
        validator=PolarsValidator(RULES),
        loader=PolarsParquetLoader(dataset, partition_by=ORDERS.partition_by, replaces=partition),
        quarantine=PolarsQuarantineWriter(settings.runs_dir),
    )
