"""Runs the stages in order and keeps the delivery contract.

extract -> transform -> validate -> (quarantine, stage output) -> conservation and
quarantine-ratio checks -> commit -> manifest. A `fail` rule stops before any write; the
manifest is always written last, for failed and interrupted runs too (`interruption.py`: a
stop signal ends the run at its next checkpoint, between stages or just before the commit,
sweeping its staging; one during the commit waits for it). A run
starts by deleting finished runs' folders past their retention (`retention.py`). The runner
knows no engine: only the stage protocols.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from signal import SIGINT
from typing import Any, Generic, TypeVar

from opentelemetry.trace import Span, Status, StatusCode

from ..build_info import BuildInfo
from ..errors import DataContractError, PipelineError, file_error, unexpected_error
from ..redaction import exception_attributes
from ..vocabulary import (
    ERROR_TYPE,
    FAILED,
    INTERRUPTED,
    NO_ERROR,
    PARTITION,
    REASON,
    RUN_STATUS,
    SUCCEEDED,
)
from .instruments import PipelineInstruments
from .interruption import RunInterrupted, checkpoint, defer_signals
from .manifest import MANIFEST_FILE, RUN_ID_TIME, Counts, ManifestStore, RunManifest, RunStatus
from .policy import RunPolicy
from .progress import SilentProgress, StageProgress
from .retention import delete_expired_runs
from .stages import (
    NO_MALFORMED,
    Batch,
    CommittedOutput,
    Extractor,
    FrameT,
    Loader,
    Malformed,
    QuarantineOutput,
    QuarantineWriter,
    StagedOutput,
    Transformer,
    Validated,
    Validator,
)

logger = logging.getLogger(__name__)
ResultT = TypeVar("ResultT")
# How often a process that starts many runs sweeps expired runs' folders (`_expire_runs`).
SWEEP_INTERVAL_SECONDS = 600.0
_SWEPT_AT: dict[Path, float] = {}  # runs folder -> when this process last swept it


@dataclass(frozen=True)
class Pipeline(Generic[FrameT]):
    """The four stages plus the quarantine writer, wired for one engine.

    `nothing_new`: the source has nothing since its committed state, so the run reads and
    writes nothing. `commits_state`: the loader commits the source's new state with the
    rows, so it commits even when no row is valid. `release` frees what the run held (the
    source's local copies) once it ends.
    """

    extractor: Extractor[FrameT]
    transformer: Transformer[FrameT]
    validator: Validator[FrameT]
    loader: Loader[FrameT]
    quarantine: QuarantineWriter[FrameT]
    nothing_new: bool = False
    commits_state: bool = False
    release: Callable[[], None] = field(default=lambda: None)


@dataclass
class RunResult:
    """The outcome of a run, as `run --json` prints it."""

    run_id: str
    status: str
    partition: str | None
    counts: Counts
    duration_seconds: float
    output: str | None
    manifest: str
    quarantine: str | None = None
    violations: dict[str, int] = field(default_factory=dict)
    error: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique: `20261125T181500Z-3f9a1c2b`."""
    moment = now or datetime.now(UTC)
    return f"{moment.strftime(RUN_ID_TIME)}-{secrets.token_hex(4)}"


class PipelineRunner(Generic[FrameT]):
    """Runs a pipeline once, with a span per run and per stage and a manifest at the end."""

    def __init__(
        self,
        pipeline: Pipeline[FrameT] | Callable[[], Pipeline[FrameT]],
        *,
        info: BuildInfo,
        instruments: PipelineInstruments,
        manifests: ManifestStore,
        progress: StageProgress | None = None,
        policy: RunPolicy | None = None,
    ) -> None:
        # A function assembling the stages runs inside the run, so that what fails while
        # assembling (a source that cannot be listed, a full runs folder) leaves a manifest.
        self._assemble = pipeline if callable(pipeline) else lambda: pipeline
        self._pipeline: Pipeline[FrameT] | None = None
        self.info = info
        self.instruments = instruments
        self.manifests = manifests
        self.progress = progress or SilentProgress()
        self.policy = policy or RunPolicy()
        self._current_stage: str | None = None
        self._attributes = {"pipeline.name": info.pipeline}

    @property
    def pipeline(self) -> Pipeline[FrameT]:
        """The stages, once the run has assembled them."""
        if self._pipeline is None:
            self._pipeline = self._assemble()
        return self._pipeline

    def run(self, run_id: str | None = None, partition: date | None = None) -> RunResult:
        """Run every stage; raises a PipelineError (after writing the manifest) on failure.

        `partition` labels the run (spans, manifest, result); the stages were built for it.
        """
        run_id = run_id or new_run_id()
        label = partition.isoformat() if partition else None
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        state = _RunState(partition=label or "all")
        tracer = self.instruments.tracer
        with tracer.start_as_current_span(
            "pipeline.run",
            attributes={
                **self._attributes,
                "pipeline.run_id": run_id,
                "pipeline.partition": label or "all",
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            logger.info("run %s started", run_id)
            try:
                self._expire_runs(run_id)
                self._run_stages(run_id, state)
                defer_signals()  # the outcome is decided: the run finishes its record
            except (RunInterrupted, KeyboardInterrupt) as stop:
                interrupted = self._interrupted(stop, run_id, label, state, started_at, started)
                span.set_status(Status(StatusCode.ERROR, "interrupted"))
                if interrupted is stop:
                    raise
                raise interrupted from None
            except Exception as error:
                defer_signals()
                classified = _classify(error)
                state.error = classified.record()
                span.record_exception(classified, attributes=exception_attributes(classified))
                span.set_status(Status(StatusCode.ERROR, classified.error_class))
                logger.error("run %s failed (%s): %s", run_id, classified.error_class, classified)
                try:
                    manifest = self._write_manifest(
                        run_id, label, state, started_at, started, "failed"
                    )
                except PipelineError as unwritten:  # the run's own error still decides
                    logger.error("%s", unwritten)
                else:
                    span.set_attribute("pipeline.manifest", str(manifest))
                self._record_outcome(FAILED, classified.error_class, started, state)
                if classified is error:
                    raise
                raise classified from error
            finally:
                self.progress.close()
                if self._pipeline is not None:
                    self._pipeline.release()
            _set_count_attributes(span, state.counts)
            manifest = self._write_manifest(run_id, label, state, started_at, started, "succeeded")
            self._record_outcome(SUCCEEDED, NO_ERROR, started, state)
            logger.info(
                "run %s succeeded: read %d, written %d, superseded %d, quarantined %d, filtered %d",
                run_id,
                state.counts.read,
                state.counts.written,
                state.counts.superseded,
                state.counts.quarantined,
                state.counts.filtered,
            )
        return RunResult(
            run_id=run_id,
            status="succeeded",
            partition=label,
            counts=state.counts,
            duration_seconds=round(time.perf_counter() - started, 3),
            output=self.pipeline.loader.location,
            manifest=str(manifest),
            quarantine=state.quarantine.location if state.quarantine else None,
            violations=dict(state.violations),
        )

    def _expire_runs(self, run_id: str) -> None:
        """Delete finished runs' folders older than the retention (never this run's): when
        a run starts, and in a process that starts many (a stream consumer: a run per
        micro-batch) at most every `SWEEP_INTERVAL_SECONDS`, as listing the folder costs
        more the more runs it holds."""
        folder = self.manifests.runs_dir
        now = time.monotonic()
        last = _SWEPT_AT.get(folder)
        if last is not None and now - last < SWEEP_INTERVAL_SECONDS:
            return
        _SWEPT_AT[folder] = now
        if self.policy.runs_retention_days is not None:
            delete_expired_runs(
                self.manifests.runs_dir,
                retention_days=self.policy.runs_retention_days,
                current_run_id=run_id,
            )

    def _interrupted(
        self,
        stop: RunInterrupted | KeyboardInterrupt,
        run_id: str,
        label: str | None,
        state: _RunState,
        started_at: datetime,
        started: float,
    ) -> RunInterrupted:
        """Record a run a stop signal ended before its commit: what it staged was swept as
        the interrupt unwound it; the manifest says so, with the signal's exit code."""
        interrupted = stop if isinstance(stop, RunInterrupted) else RunInterrupted(SIGINT)
        during = self._current_stage or "start-up"
        outcome = (
            f"its rows were committed (version {state.committed.snapshot})"
            if state.committed
            else "nothing was committed; the next run starts over"
        )
        message = f"run {run_id} stopped by {interrupted.signal_name} during {during}: {outcome}"
        state.error = {
            "class": "interrupted",
            "exit_code": interrupted.exit_code,
            "message": message,
        }
        logger.warning("%s", message)
        interrupted.detail = message
        try:
            manifest = self._write_manifest(
                run_id, label, state, started_at, started, "interrupted"
            )
        except PipelineError as unwritten:
            logger.error("%s", unwritten)
        else:
            interrupted.manifest = manifest
        self._record_outcome(INTERRUPTED, INTERRUPTED, started, state)
        return interrupted

    def _record_outcome(
        self, status: str, error_type: str, started: float, state: _RunState
    ) -> None:
        """Count the finished run by outcome, time it, and note when it finished (as its
        manifest says, which later processes read back)."""
        instruments = self.instruments
        instruments.runs.add(1, {**self._attributes, RUN_STATUS: status, ERROR_TYPE: error_type})
        elapsed = time.perf_counter() - started
        instruments.run_duration.record(elapsed, {**self._attributes, RUN_STATUS: status})
        finished = state.finished_at.timestamp() if state.finished_at else time.time()
        instruments.history.finished(self.info.pipeline, status, finished)

    def _run_stages(self, run_id: str, state: _RunState) -> None:
        stages = self.pipeline
        counts = state.counts
        if stages.nothing_new:
            logger.info("nothing new in the source since the last commit: nothing to do")
            return

        extracted = self._stage("extract", stages.extractor.extract)
        state.malformed = extracted.malformed
        counts.read = extracted.rows + state.malformed.rows
        state.sources = list(extracted.sources)
        counted = {**self._attributes, PARTITION: state.partition}
        self.instruments.records_read.add(counts.read, counted)

        transformed = self._stage("transform", stages.transformer.transform, extracted)
        counts.filtered = extracted.rows - transformed.rows
        if counts.filtered < 0:
            raise DataContractError(
                f"transformers returned {transformed.rows} rows from {extracted.rows}: they may "
                "drop rows but never add them (check the functions in transforms/)"
            )
        del extracted  # let the engine free the raw frame before validation

        validated = self._stage("validate", stages.validator.validate, transformed)
        del transformed
        state.violations = {**validated.violations, **state.malformed.violations}
        if validated.failures:
            failed = ", ".join(f"{code} ({n} rows)" for code, n in validated.failures.items())
            first = "; ".join(validated.failing_rows)
            raise DataContractError(
                f"fail rules violated: {failed}, first at {first}; nothing was written. Fix "
                "the source data or change the rule's severity in validation/rules.py"
            )

        self._stage("load", lambda batch: self._load(run_id, batch, state), validated)
        self.instruments.records_written.add(counts.written, counted)
        self.instruments.records_quarantined.add(counts.quarantined, counted)
        self.instruments.records_filtered.add(counts.filtered, counted)
        for reason, violated in state.violations.items():
            self.instruments.violations.add(violated, {**self._attributes, REASON: reason})

    def _load(self, run_id: str, validated: Validated[FrameT], state: _RunState) -> Batch[None]:
        """Quarantine, stage, check the books, then commit; nothing is visible before that."""
        counts = state.counts
        if validated.quarantined.rows or state.malformed.rows:
            state.quarantine = self.pipeline.quarantine.write(
                validated.quarantined, state.malformed, run_id
            )
            counts.quarantined = state.quarantine.rows
        staged: StagedOutput | None = None
        if validated.valid.rows or self.pipeline.commits_state:
            staged = self.pipeline.loader.stage(validated.valid, run_id)
            counts.written = staged.rows
            counts.superseded = staged.superseded
            self.progress.advanced("load", staged.rows)  # staged; the commit is still to come
        try:
            counts.check_conservation()
            self.policy.check_quarantine(counts)
            checkpoint()  # the last safe point before the commit
            # From here a stop signal waits: the commit is one atomic step, and the run
            # finishes it and its manifest before the signal is honoured.
            defer_signals()
        except BaseException:
            if staged is not None:
                self.pipeline.loader.abort(staged)
            raise
        if staged is not None:
            state.committed = self.pipeline.loader.commit(staged)
        else:
            logger.info("no valid rows: the destination is left unchanged")
        return Batch(None, counts.written)

    def _stage(self, name: str, work: Callable[..., ResultT], given: object = None) -> ResultT:
        """Run one stage inside its span, timing it and recording its row counts."""
        attributes = {**self._attributes, "pipeline.stage": name}
        checkpoint()  # a stop signal received in the stage before ends the run here
        self._current_stage = name
        self.progress.started(name)
        started = time.perf_counter()
        # Exceptions are recorded here, redacted: the SDK's own recording would put the raw
        # message (a server's answer, a connection string) into the span's event and status.
        with self.instruments.tracer.start_as_current_span(
            f"pipeline.{name}",
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                if given is None:
                    result = work()
                else:
                    span.set_attribute("pipeline.rows.in", _rows_of(given))
                    result = work(given)
            except BaseException as error:
                span.record_exception(error, attributes=exception_attributes(error))
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                raise
            rows_out = _rows_of(result)
            span.set_attribute("pipeline.rows.out", rows_out)
            if isinstance(result, Validated):
                span.set_attribute("pipeline.rows.quarantined", result.quarantined.rows)
        elapsed = time.perf_counter() - started
        self.instruments.stage_duration.record(elapsed, attributes)
        self.progress.finished(name, rows_out)
        logger.info("stage %s done in %.2fs: %d rows", name, elapsed, rows_out)
        return result

    def _write_manifest(
        self,
        run_id: str,
        partition: str | None,
        state: _RunState,
        started_at: datetime,
        started: float,
        status: RunStatus,
    ) -> str:
        state.finished_at = datetime.now(UTC)
        manifest = RunManifest(
            run_id=run_id,
            partition=partition,
            pipeline=self.info.pipeline,
            template_version=self.info.template_version,
            engine=self.info.engine,
            status=status,
            started_at=started_at.isoformat(),
            finished_at=state.finished_at.isoformat(),
            duration_seconds=round(time.perf_counter() - started, 3),
            counts=state.counts,
            sources=state.sources,
            violations=dict(state.violations),
            output=asdict(state.committed) if state.committed else None,
            quarantine=asdict(state.quarantine) if state.quarantine else None,
            error=state.error,
        )
        try:
            return str(self.manifests.write(manifest))
        except OSError as error:
            raise self._manifest_not_written(manifest, error) from None

    def _manifest_not_written(self, manifest: RunManifest, error: OSError) -> PipelineError:
        """The manifest could not be written: it goes to the log (stderr) instead, whole,
        and the run fails with the file error's class, saying what was committed."""
        path = self.manifests.run_dir(manifest.run_id) / MANIFEST_FILE
        logger.error("manifest of run %s: %s", manifest.run_id, json.dumps(manifest.to_dict()))
        cause = file_error(error, path, "the runs folder (runs_dir)")
        committed = manifest.output or {}
        outcome = (
            f"its rows are committed to {committed.get('location')} "
            f"(version {committed.get('snapshot')})"
            if committed
            else "nothing was committed"
        )
        return type(cause)(
            f"run {manifest.run_id} {manifest.status}, and {outcome}, but its manifest could "
            f"not be written ({cause}); the manifest is in the log above"
        )


@dataclass
class _RunState:
    partition: str = "all"
    counts: Counts = field(default_factory=Counts)
    malformed: Malformed = NO_MALFORMED
    sources: list[str] = field(default_factory=list)
    violations: Mapping[str, int] = field(default_factory=dict)
    quarantine: QuarantineOutput | None = None
    committed: CommittedOutput | None = None
    error: dict[str, Any] | None = None
    finished_at: datetime | None = None


def _rows_of(result: object) -> int:
    if isinstance(result, Validated):
        return int(result.valid.rows)
    if isinstance(result, Batch):
        return int(result.rows)
    raise TypeError(f"a stage returned {type(result).__name__}, not a Batch or Validated")


def _set_count_attributes(span: Span, counts: Counts) -> None:
    for name, value in asdict(counts).items():
        span.set_attribute(f"pipeline.records.{name}", value)


def _classify(error: Exception) -> PipelineError:
    """A failed file operation (a full disk, a read-only mount, denied access) is classed by
    what the system said; any other unclassified exception is a bug: in the team's code
    (team_code) or the template's (internal), with its traceback."""
    if isinstance(error, PipelineError):
        return error
    if isinstance(error, OSError) and error.errno is not None:
        return file_error(error, error.filename or "a file of the run", "writing or reading")
    return unexpected_error(error)
