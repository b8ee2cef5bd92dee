"""Render context hook: a last check of every answer, and values derived from the answers.

Copier runs a question's `validator` on answers given with `--data`, `--data-file` or at
the prompt, but not on default values taken under `copier copy --defaults` (see
`Worker._ask` in copier/_main.py). A project_name of "Class" would then derive the package
name "class" and render a project that cannot be imported. `DerivedContext` re-checks every
answer with the same functions the validators use before any file is rendered, and refuses
to render when one is invalid.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from functools import cache
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path
from types import ModuleType
from typing import Any

from copier.errors import UserMessageError
from copier_template_extensions import ContextHook

UNKNOWN_TEMPLATE_VERSION = "0.0.0+unknown"


def _load_sibling(name: str) -> ModuleType:
    """Load the sibling `name`.py by path: extensions/ is not an importable package."""
    path = Path(__file__).with_name(f"{name}.py")
    spec = spec_from_file_location(f"_golden_path_{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_answers = _load_sibling("answers")
_given = _load_sibling("given_answers")

# Every question with a validator in copier.yml, checked by the same function.
ANSWER_CHECKS: tuple[tuple[str, Callable[[Any], str]], ...] = (
    ("project_name", lambda value: _answers.free_text_problem(value, "project_name")),
    ("project_slug", _answers.slug_problem),
    ("package_name", _answers.package_name_problem),
    ("description", lambda value: _answers.free_text_problem(value, "description")),
    ("owner", _answers.owner_problem),
    ("schedule", _answers.schedule_problem),
)


class InvalidAnswersError(UserMessageError, ValueError):
    """Answers that reached rendering without passing their validators.

    A `ValueError`, and a Copier `UserMessageError` so the CLI prints the message alone,
    without a traceback.
    """


def answer_problems(context: Mapping[str, Any]) -> list[str]:
    """Return one message per invalid answer among those present in `context`."""
    return [
        problem
        for key, check in ANSWER_CHECKS
        if key in context and (problem := check(context[key]))
    ]


DEPENDENCIES_DIR = Path(__file__).with_name("dependencies")


@cache
def _choice_data(kind: str, name: str) -> dict[str, Any]:
    """The data file for one choice: dependencies/<kind>/<name>.toml. A name that is not
    one of the choices (an answer given with --data before copier checked it) is refused
    with the valid ones."""
    choices = sorted(path.stem for path in (DEPENDENCIES_DIR / kind).glob("*.toml"))
    if name not in choices:
        question = kind.removesuffix("s")
        raise InvalidAnswersError(
            f"{question} {name!r} is not one of the choices: use one of {', '.join(choices)} "
            f"(--data {question}=...)"
        )
    path = DEPENDENCIES_DIR / kind / f"{name}.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


def orchestrator_dependencies(orchestrator: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The `orchestrator` dependency group and the dev requirements for `orchestrator`, from
    orchestrators/<name>.toml."""
    data = _choice_data("orchestrators", orchestrator)
    return tuple(data["group"]), tuple(data["dev"])


def orchestrator_egress(orchestrator: str) -> list[dict[str, Any]]:
    """Namespaces and TCP ports the orchestrator's pods must reach (NetworkPolicy egress)."""
    return [dict(rule) for rule in _choice_data("orchestrators", orchestrator).get("egress", [])]


def orchestrator_image(orchestrator: str) -> dict[str, Any]:
    """Whether the orchestrator runs code in an image of the project (the Dockerfile's
    `orchestrator` target), and the project files that image needs besides the package."""
    data = _choice_data("orchestrators", orchestrator)
    return {
        "orchestrator_image_target": bool(data.get("image_target", False)),
        "orchestrator_image_files": [str(path) for path in data.get("image_files", [])],
    }


def orchestrator_context(orchestrator: str) -> dict[str, Any]:
    """What an orchestrator adds to the context: its dependency group and dev requirements,
    its pods' egress and its image target."""
    group, dev = orchestrator_dependencies(orchestrator)
    return {
        "orchestrator_dependencies": list(group),
        "orchestrator_dev_dependencies": list(dev),
        "orchestrator_egress": orchestrator_egress(orchestrator),
        **orchestrator_image(orchestrator),
    }


def engine_context(engine: str) -> dict[str, Any]:
    """What an engine adds to the context, from engines/<name>.toml: requirements, the
    class-name prefix of its stages, the [engine] section of pipeline.toml, the memory
    its Kubernetes Job asks for, the size of its project's kill test and the environment its
    project's tests run in."""
    data = _choice_data("engines", engine)
    return {
        "engine_dependencies": list(data["runtime"]),
        "engine_dev_dependencies": list(data["dev"]),
        "engine_prefix": str(data["prefix"]),
        "engine_config": str(data["config"]).strip(),
        "engine_memory_request": str(data["job"]["memory_request"]),
        "engine_memory_limit": str(data["job"]["memory_limit"]),
        "engine_memory_limit_mib": _mebibytes(str(data["job"]["memory_limit"])),
        "engine_kill_test_rows": int(data["tests"]["kill_rows"]),
        "engine_kill_iterations": int(data["tests"].get("kill_iterations", 20)),
        "engine_test_environment": {
            str(key): str(value) for key, value in data["tests"].get("environment", {}).items()
        },
    }


# Answers a source's or destination's text may name, e.g. a bucket "{project_slug}-dev".
NAMING_ANSWERS = ("project_slug", "package_name")


def destination_context(
    destination: str, answers: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What a destination adds to the context, from destinations/<name>.toml: requirements,
    its pipeline.toml sections, its pods' egress, its part of the Step Functions stack
    (parameters, container environment, task policies) and of the README (where output goes,
    its settings). `{project_slug}` and `{package_name}` in the text are those answers (a
    bucket or a database role named after the project). Its code needs no entry here: it is
    the package `destinations/<name>/`, named after the answer."""
    return _connector_context("destination", destination, answers or {})


def source_context(source: str, answers: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What a source adds to the context, from sources/<name>.toml: the same keys as a
    destination's, prefixed `source_` (its README part says where input comes from)."""
    return _connector_context("source", source, answers or {})


def connectors_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """Requirements and egress of the source (or stream) and destination together, each
    listed once (a project reading and writing S3 needs boto3 once)."""

    def union(key: str) -> list[Any]:
        merged: list[Any] = []
        sides = ("source", "stream", "destination")
        for item in [entry for side in sides for entry in context.get(f"{side}_{key}", [])]:
            if item not in merged:
                merged.append(item)
        return merged

    return {
        "connector_dependencies": union("dependencies"),
        "connector_dev_dependencies": union("dev_dependencies"),
        "connector_egress": union("egress"),
    }


def pipeline_shape(context: Mapping[str, Any]) -> dict[str, Any]:
    """Which sides a project has: `batch_side` (a batch source, `run` and `backfill`) and
    `stream_unit` (the stream source's folder name, or "" without a stream side).

    Copier still puts a question's default into the context when its `when` is false, so a
    streaming project would otherwise see `source = "local"`: the answer a side does not have
    becomes "" (no file named after it renders)."""
    pipeline_type = str(context.get("pipeline_type", "batch"))
    batch_side = pipeline_type != "streaming"
    stream_unit = str(context.get("stream_source", "")) if pipeline_type == "streaming" else ""
    shape: dict[str, Any] = {"batch_side": batch_side, "stream_unit": stream_unit}
    if stream_unit:
        # A StatefulSet's name is at most 52 characters (its pods' controller-revision-hash
        # label adds 11 to it): the Kinesis consumer's is the slug itself.
        slug = str(context.get("project_slug", ""))
        shape["consumer_name"] = slug if stream_unit == "kinesis" else f"{slug}-consumer"
    if not batch_side:
        # The consumer runs as a Kubernetes Deployment; the orchestrator (when answered)
        # schedules the table upkeep (ADR 0012), so only the batch source goes.
        shape.update(source="")
    return shape


def stream_context(stream: str, answers: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What a stream source adds to the context, from streams/<name>.toml: the same keys as
    a source's, prefixed `stream_`."""
    return _connector_context("stream", stream, answers or {})


def _connector_context(kind: str, name: str, given: Mapping[str, Any]) -> dict[str, Any]:
    data = _choice_data(f"{kind}s", name)

    def text(value: object, strip: str | None = None) -> str:
        result = str(value).strip(strip)
        for answer in NAMING_ANSWERS:
            result = result.replace("{" + answer + "}", str(given.get(answer, "")))
        return result

    # A stream source has no Step Functions part: the state machine only runs upkeep.
    step_functions = data.get("step_functions", {})
    return {
        # A source names its module; a destination is the folder named after the answer.
        **({f"{kind}_module": str(data["module"])} if "module" in data else {}),
        f"{kind}_dependencies": list(data["runtime"]),
        f"{kind}_dev_dependencies": list(data["dev"]),
        f"{kind}_config": text(data["config"]),
        f"{kind}_deploy_config": text(data["deploy_config"]),
        f"{kind}_egress": [dict(rule) for rule in data.get("egress", [])],
        f"{kind}_sfn_parameters": text(step_functions.get("parameters", ""), "\n"),
        f"{kind}_sfn_environment": text(step_functions.get("environment", ""), "\n"),
        f"{kind}_sfn_task_policies": text(step_functions.get("task_policies", ""), "\n"),
        **{f"{kind}_readme_{part}": text(body) for part, body in data["readme"].items()},
    }


def _mebibytes(quantity: str) -> int:
    """A whole-GiB Kubernetes quantity ("3Gi") in MiB (3072), for ECS task sizes."""
    if not quantity.endswith("Gi") or not quantity.removesuffix("Gi").isdigit():
        raise ValueError(f"memory_limit {quantity!r} must be whole GiB, e.g. '2Gi'")
    return int(quantity.removesuffix("Gi")) * 1024


def template_version(context: Mapping[str, Any]) -> str:
    """Return the template's version (`_commit`, e.g. "v0.1.0"), or a marker when unknown."""
    commit = context.get("_commit")
    return str(commit) if commit else UNKNOWN_TEMPLATE_VERSION


class DerivedContext(ContextHook):
    """Check the answers before rendering and add `template_version` to the context."""

    # True while the hook renders a validator itself: that render runs the hook again.
    _checking_given = False

    def hook(self, context: dict[str, Any]) -> None:
        """Update `context` in place; raise `InvalidAnswersError` when an answer is invalid.

        Runs for every string and file Copier renders, so it only does a handful of regex
        checks and keeps no state between calls. While the questions are asked, Copier
        renders defaults and validators with half-answered contexts: then only the answers
        given with --data or --data-file are checked (`given_answers.py`), and each typed
        answer is left to its question's validator.
        """
        if self._checking_given:  # a validator rendered by the check below needs no more
            return
        if str(context.get("_copier_phase", "")) == "prompt":
            self._refuse_bad_given_answers(context)
        else:
            problems = answer_problems(context)
            if problems:
                listing = "\n".join(f"  - {problem}" for problem in problems)
                raise InvalidAnswersError(
                    f"Cannot render the project, these answers are invalid:\n{listing}\n"
                    "Answers taken as defaults are not validated when asked, so a derived "
                    "value (project_slug, package_name) can be wrong: pass corrected values "
                    "with --data key=value or in the --data-file."
                )
        context["template_version"] = template_version(context)
        context.update(pipeline_shape(context))
        if context.get("orchestrator"):
            context.update(orchestrator_context(str(context["orchestrator"])))
        if "engine" in context:
            context.update(engine_context(str(context["engine"])))
        if "destination" in context:
            context.update(destination_context(str(context["destination"]), context))
        if context["batch_side"] and "source" in context:
            context.update(source_context(str(context["source"]), context))
        if context["stream_unit"]:
            context.update(stream_context(str(context["stream_unit"]), context))
        context.update(connectors_context(context))

    def _refuse_bad_given_answers(self, context: Mapping[str, Any]) -> None:
        """Raise `InvalidAnswersError` listing every given answer its question refuses."""
        self._checking_given = True
        try:
            problems = _given.given_answer_problems(context, self._render)
        finally:
            self._checking_given = False
        if problems:
            listing = "\n".join(f"  - {problem}" for problem in problems)
            raise InvalidAnswersError(
                f"These answers given with --data or --data-file are invalid:\n{listing}\n"
                "Nothing was written: run the command again with corrected values."
            )

    def _render(self, template: str, context: Mapping[str, Any]) -> str:
        return self.environment.from_string(template).render(context)
