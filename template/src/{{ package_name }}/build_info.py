"""What the template rendered: pipeline name, template version and the chosen answers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class BuildInfo:
    """Facts fixed at render time: the answers become telemetry resource attributes; the
    memory a partition run's container asks for (the engine's, as deploy/base/job.yaml
    sets it) sizes the pods orchestrators start."""

    pipeline: str
    package: str
    template_version: str
    pipeline_type: str
    engine: str
    orchestrator: str
    schedule: str
    source: str
    destination: str
    job_memory_request: str
    job_memory_limit: str


@cache
def build_info() -> BuildInfo:
    """Read `build_info.json`, written by the template next to this module."""
    package = resources.files(__package__ or __name__)
    text = package.joinpath("build_info.json").read_text(encoding="utf-8")
    return BuildInfo(**json.loads(text))
