"""Answers given with `--data` or `--data-file`, checked before copier reaches them.

Copier (9.19 and the current main) checks such an answer against its question's `choices`
and `validator` only when the question's turn comes, and a failure there is a bare
`ValueError`: the CLI prints a traceback (`copier/_main.py`, `Worker._ask`). The render
hook runs first, at the first string copier renders, so it checks every given answer
against copier.yml's own choices and validators and refuses them all at once, with the
valid values, as a `UserMessageError` (a message, no traceback).

A validator that names an answer not known yet (the schedule's names the orchestrator) is
skipped until that answer is: the hook runs again at every render, and at the latest when
copier renders that question's validator itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import UndefinedError

Render = Callable[[str, Mapping[str, Any]], str]


@cache
def questions(template_root: str) -> dict[str, dict[str, Any]]:
    """The questions of the template's copier.yml, by key (settings such as `_tasks` left out)."""
    path = Path(template_root) / "copier.yml"
    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {
        str(key): value
        for key, value in config.items()
        if not str(key).startswith("_") and isinstance(value, dict)
    }


def choice_values(question: Mapping[str, Any]) -> list[str]:
    """The values a question's `choices` allow (a mapping of label to value, or a list)."""
    choices = question.get("choices")
    if isinstance(choices, Mapping):
        # A choice with its own validator is a mapping: {value: ..., validator: ...}.
        return [
            str(value["value"] if isinstance(value, Mapping) else value)
            for value in choices.values()
        ]
    if isinstance(choices, list):
        return [str(value) for value in choices]
    return []


def given_answers(context: Mapping[str, Any]) -> dict[str, Any]:
    """The answers given with `--data` and `--data-file` (copier merges both into `data`)."""
    conf = context.get("_copier_conf")
    if conf is None:
        return {}
    try:
        data = conf["data"]
    except KeyError:
        return {}
    return dict(data or {})


def template_root(context: Mapping[str, Any]) -> str | None:
    """Where copier.yml is (copier's `src_path`), or None outside a copier render."""
    conf = context.get("_copier_conf")
    if conf is None:
        return None
    try:
        return str(conf["src_path"])
    except KeyError:
        return None


# Answers a project keeps for life. A batch and a streaming project differ in their runner,
# deployment (a Job and a Deployment), tests and team-owned config, and no update carries a
# project from one to the other yet (migrations/switch_answers.py carries the switches that
# only swap a connector or an engine).
FIXED_ANSWERS = ("pipeline_type",)


def previous_answers(context: Mapping[str, Any]) -> dict[str, Any]:
    """The answers recorded in the destination's answers file: a project being updated (or
    copied over), or {} for a new project."""
    conf = context.get("_copier_conf")
    if conf is None:
        return {}
    try:
        path = Path(str(conf["dst_path"])) / str(conf["answers_file"])
    except KeyError:
        return {}
    if not path.is_file():
        return {}
    try:
        recorded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):  # not ours to judge: copier reads it
        return {}
    return dict(recorded) if isinstance(recorded, Mapping) else {}


def fixed_answer_problems(context: Mapping[str, Any]) -> list[str]:
    """One message per FIXED_ANSWERS answer that differs from the project's recorded one."""
    before = previous_answers(context)
    return [
        f"{key} cannot change from {before[key]!r} to {context[key]!r} in an existing project: "
        f"copier update does not turn a {before[key]} project into a {context[key]} one. "
        f"Create a new project with `copier copy --data {key}={context[key]}` and move the "
        "team's contract, transforms and rules into it"
        for key in FIXED_ANSWERS
        if key in before and key in context and str(before[key]) != str(context[key])
    ]


def given_answer_problems(context: Mapping[str, Any], render: Render) -> list[str]:
    """One message per answer given with `--data` or `--data-file` that its question's
    choices or validator refuse, and per answer the project cannot change (FIXED_ANSWERS,
    given or typed); `render` renders a validator template with a context."""
    root = template_root(context)
    given = given_answers(context)
    problems = fixed_answer_problems(context)
    if root is None or not given:
        return problems
    for key, question in questions(root).items():
        if key not in given:
            continue
        allowed = choice_values(question)
        if allowed and str(given[key]) not in allowed:
            problems.append(
                f"{key} {str(given[key])!r} is not one of the choices: use one of "
                f"{', '.join(sorted(allowed))}"
            )
            continue
        # The question's validator, and the chosen value's own (a choice refused in some
        # combinations, e.g. an engine that is batch only).
        validators = [question.get("validator"), choice_validator(question, str(given[key]))]
        for validator in filter(None, validators):
            try:
                problem = render(str(validator), {**context, key: given[key]}).strip()
            except UndefinedError:  # names an answer not known yet: checked at a later render
                continue
            if problem:
                problems.append(f"{key} {str(given[key])!r}: {problem}" if allowed else problem)
    return problems


def choice_validator(question: Mapping[str, Any], value: str) -> str | None:
    """The `validator` of the choice whose value is `value`, when it has one."""
    choices = question.get("choices")
    if not isinstance(choices, Mapping):
        return None
    for choice in choices.values():
        if isinstance(choice, Mapping) and str(choice.get("value")) == value:
            validator = choice.get("validator")
            return str(validator) if validator else None
    return None
