"""Runs conformance cases inside a rendered project's own environment, on its own engine.

Started by `tests/test_conformance.py` as `<project>/.venv/bin/python harness.py PLAN OUT`:
PLAN is a JSON list of runs, each naming its input files, its contract (the corpus's, or
the project's own `contracts/orders.py` for file-level cases), its rules and its
transforms (identity, or the project's). Every run goes through the project's real
stages (`engines/<engine>_engine.assemble_pipeline`), runner, manifest and a fresh local
destination, in this one process, so an engine starts once for all of them (one JVM for
Spark). OUT receives one JSON report per run: what `run --json` would print.

Only the standard library and the project are imported: this file runs in the project's
environment, not the template's.
"""

from __future__ import annotations

import importlib
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any


def main(plan_path: str, out_path: str) -> int:
    """Run every planned run; write their reports to `out_path`."""
    plan = json.loads(Path(plan_path).read_text(encoding="utf-8"))
    package = plan["package"]
    reports = {run["name"]: run_one(package, run) for run in plan["runs"]}
    Path(out_path).write_text(json.dumps(reports, indent=1, default=str), encoding="utf-8")
    return 0


def run_one(package: str, run: dict[str, Any]) -> dict[str, Any]:
    """One pipeline run as `run --json` would report it (a failed run reports its error)."""
    modules = _Modules(package)
    workdir = Path(run["workdir"])
    runs_dir, spool = workdir / "runs", workdir / "spool"
    spool.mkdir(parents=True, exist_ok=True)
    contract = modules.contract(run["contract"])
    destination = modules.destination.open_destination(
        modules.destination_settings(path=workdir / "output"),
        contract=contract,
        runs_dir=runs_dir,
        replaces=modules.protocol.Replacement(),
    )
    pipeline = modules.engine.assemble_pipeline(
        modules.engine_settings(),
        files=[
            modules.selection.SourceFile(Path(file["path"]), file["format"])
            for file in run["files"]
        ],
        contract=contract,
        transform=modules.transform(run["transform"]),
        rules=modules.rules(run["rules"]),
        destination=destination,
        runs_dir=runs_dir,
        spool=spool,
    )
    runner = modules.runner.PipelineRunner(
        pipeline,
        info=modules.build_info.build_info(),
        instruments=modules.instruments(),
        manifests=modules.manifest.ManifestStore(runs_dir),
        # The cases test what values and rules mean, often with most rows bad: no
        # operational threshold stops them before their outcome is recorded.
        policy=modules.policy.RunPolicy(max_quarantine_ratio=1.0, runs_retention_days=None),
    )
    try:
        result = runner.run()
    except modules.errors.PipelineError as error:
        manifests = sorted(runs_dir.glob("*/manifest.json"))
        manifest = json.loads(manifests[-1].read_text(encoding="utf-8")) if manifests else {}
        return {
            "status": "failed",
            "exit_code": int(error.exit_code),
            "error": str(error),
            "counts": manifest.get("counts"),
            "violations": manifest.get("violations"),
        }
    report = asdict(result)
    report["exit_code"] = 0
    return report


class _Modules:
    """The rendered project's modules this harness drives."""

    def __init__(self, package: str) -> None:
        def module(name: str) -> Any:
            return importlib.import_module(f"{package}.{name}")

        build = module("build_info")
        engine_name = build.build_info().engine
        self.build_info = build
        self.engine = module(f"engines.{engine_name}_engine")
        self.engine_settings = module("engines.configuration").EngineSettings
        self.destination = module("destinations.local.table")
        self.destination_settings = module("destinations.local.configuration").DestinationSettings
        self.protocol = module("destinations.protocol")
        self.selection = module("sources.selection")
        self.runner = module("pipeline.runner")
        self.manifest = module("pipeline.manifest")
        self.policy = module("pipeline.policy")
        self.errors = module("errors")
        self.contract_module = module("pipeline.contract")
        self.model = module("validation.model")
        self._package = package
        self._instruments = module("pipeline.instruments")

    def instruments(self) -> Any:
        """No-op OTel instruments: the API without an SDK records nothing."""
        from opentelemetry import metrics, trace

        return self._instruments.PipelineInstruments.create(
            trace.get_tracer("conformance"), metrics.get_meter("conformance")
        )

    def contract(self, spec: dict[str, Any] | str) -> Any:
        """The corpus contract described by `spec`, or the project's own (`"project"`)."""
        if spec == "project":
            return importlib.import_module(f"{self._package}.contracts.orders").ORDERS
        types = self.contract_module.ColumnType
        columns = tuple(
            self.contract_module.Column(
                column["name"],
                types(column["type"]),
                required=column.get("required", False),
                allow_non_finite=column.get("allow_non_finite", False),
            )
            for column in spec["columns"]
        )
        return self.contract_module.DatasetContract(
            spec["name"], columns, tuple(spec["key"]), spec["partition_by"]
        )

    def rules(self, spec: list[dict[str, Any]] | str) -> tuple[Any, ...]:
        """The rules described by `spec`, or the project's own (`"project"`)."""
        if spec == "project":
            return tuple(importlib.import_module(f"{self._package}.validation.rules").RULES)
        model = self.model
        checks = {
            "NotNull": lambda c: model.NotNull(c["column"]),
            "InRange": lambda c: model.InRange(c["column"], min=c.get("min"), max=c.get("max")),
            "AcceptedValues": lambda c: model.AcceptedValues(c["column"], tuple(c["values"])),
            "MatchesPattern": lambda c: model.MatchesPattern(c["column"], c["pattern"]),
        }
        return tuple(
            model.Rule(rule["code"], model.Severity(rule["severity"]), checks[rule["kind"]](rule))
            for rule in spec
        )

    def transform(self, spec: str) -> Any:
        """The project's transforms (`"project"`), or none at all (`"identity"`)."""
        if spec == "project":
            return importlib.import_module(f"{self._package}.transforms.orders").transform
        return lambda frame: frame


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
