"""Generate the Backstage Template's form (`spec.parameters` in catalog-info.yaml) from copier.yml.

copier.yml is the one source of truth: each question becomes a form field of the same key,
with its help, choices (values and labels, in order), default and every rule of
`extensions/answers.py` that JSON Schema can state (patterns, lengths, enums, and the
combinations copier's per-choice validators refuse). A question asked only for some answers
(`when`) is a field of that answer's branch. The rules JSON Schema cannot state stay in
copier and reach the user as the render step's error (docs/backstage.md lists them).

What copier.yml does not say, how the form is laid out (pages, titles, widgets), is the
data at the top of this file. Usage, from the repository root:

    python extensions/backstage_form.py           # rewrite the form in catalog-info.yaml
    python extensions/backstage_form.py --check   # exit 1 when the checked-in form drifted

Not a Jinja extension: copier never loads it. It needs only what copier brings (PyYAML,
Jinja2).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
COPIER_YML = REPO_ROOT / "copier.yml"
CATALOG_INFO = REPO_ROOT / "catalog-info.yaml"
BEGIN_MARKER = "  # BEGIN form generated from copier.yml by extensions/backstage_form.py"
END_MARKER = "  # END generated form"
INDENT = "  "


# extensions/ is not a package (copier loads its files by path): load the rules the same way.
_ANSWERS_SPEC = spec_from_file_location(
    "_golden_path_answers", Path(__file__).with_name("answers.py")
)
assert _ANSWERS_SPEC is not None and _ANSWERS_SPEC.loader is not None
_answers = module_from_spec(_ANSWERS_SPEC)
_ANSWERS_SPEC.loader.exec_module(_answers)

# --- Layout: what copier.yml does not say -------------------------------------------------
# Pages in order, with their questions in order. A question missing here is an error, so a
# new copier.yml question cannot silently stay out of the form.
PAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Name the pipeline", ("project_name", "project_slug", "package_name", "description", "owner")),
    (
        "Shape the pipeline",
        (
            "pipeline_type",
            "stream_source",
            "engine",
            "orchestrator",
            "source",
            "destination",
            "schedule",
        ),
    ),
)
TITLES = {
    "project_name": "Project name",
    "project_slug": "Project slug",
    "package_name": "Python package name",
    "description": "Description",
    "owner": "Owner",
    "pipeline_type": "Pipeline type",
    "stream_source": "Stream source",
    "engine": "Engine",
    "orchestrator": "Orchestrator",
    "source": "Source",
    "destination": "Destination",
    "schedule": "Schedule",
}
# Free text whose copier default is an example, not a sensible answer: the form asks for it
# (required) and shows the default as a placeholder.
EXAMPLE_DEFAULTS = frozenset({"project_name", "description"})
WIDGETS: dict[str, dict[str, Any]] = {
    "project_name": {"ui:autofocus": True},
    "project_slug": {"ui:placeholder": _answers.EXAMPLE_SLUG},
    "package_name": {"ui:placeholder": _answers.EXAMPLE_PACKAGE},
    "owner": {
        "ui:field": "OwnerPicker",
        "ui:options": {"catalogFilter": [{"kind": ["Group", "User"]}]},
    },
}
# Where the new repository goes: a form-only field, used by publish:github.
REPOSITORY_PAGE: dict[str, Any] = {
    "title": "Choose a repository",
    "required": ["repoUrl"],
    "properties": {
        "repoUrl": {
            "title": "Repository location",
            "type": "string",
            "description": "Where the new repository is created (name it like the project slug)",
            "ui:field": "RepoUrlPicker",
            "ui:options": {"allowedHosts": ["github.com"]},
        }
    },
}


# --- Rules of extensions/answers.py, as JSON Schema -----------------------------------------
def _anchored(pattern: str) -> str:
    """A Python `fullmatch` pattern as a JSON Schema pattern (which searches)."""
    return f"^(?:{pattern})$"


# Characters free_text_problem refuses (control characters, line and paragraph separators,
# bidirectional controls), and at least one non-space character.
_FREE_TEXT = r"^(?=[\s\S]*\S)[^\u0000-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069]*$"
# `[kind:][namespace/]name`, the kind group or user in any case (owner_problem).
_OWNER_KIND = "|".join("".join(f"[{c.upper()}{c}]" for c in kind) for kind in _answers._OWNER_KINDS)
_NAME = _answers._BACKSTAGE_NAME.pattern
# A preset, or five fields of the characters cron values are written with, separated by
# spaces; value ranges and steps stay with copier (schedule_problem).
_CRON_FIELD = r"[0-9A-Za-z*,/-]+"
_PRESETS = "|".join(preset.removeprefix("@") for preset in _answers.SCHEDULE_PRESETS)

RULES: dict[str, dict[str, Any]] = {
    "project_name": {
        "minLength": 1,
        "maxLength": _answers.MAX_FREE_TEXT_LENGTH,
        "pattern": _FREE_TEXT,
    },
    "description": {
        "minLength": 1,
        "maxLength": _answers.MAX_FREE_TEXT_LENGTH,
        "pattern": _FREE_TEXT,
    },
    "project_slug": {
        "maxLength": _answers.MAX_SLUG_LENGTH,
        "pattern": _anchored(_answers._DNS_LABEL.pattern),
    },
    "package_name": {
        "maxLength": _answers.MAX_PACKAGE_NAME_LENGTH,
        "pattern": _anchored(_answers._PACKAGE_NAME.pattern),
    },
    "owner": {"pattern": f"^(?:(?:{_OWNER_KIND}):)?(?:{_NAME}/)?{_NAME}$"},
    "schedule": {"pattern": f"^(?:@(?:{_PRESETS})|{_CRON_FIELD}(?: +{_CRON_FIELD}){{4}})$"},
}
# What only copier checks, for the docs and the tests: (question, rule).
COPIER_ONLY_RULES: tuple[tuple[str, str], ...] = (
    ("every free-text answer", "no credential-looking value (credential_patterns.toml)"),
    ("package_name", "not a Python keyword, standard-library or dependency module name"),
    ("owner", "namespace and name at most 63 characters each"),
    ("schedule", "each cron field's values, ranges and steps within its bounds"),
    ("schedule", "with step_functions: not both day-of-month and day-of-week restricted"),
)


# --- copier.yml -> form ---------------------------------------------------------------------
def _choices(spec: Mapping[str, Any]) -> list[tuple[str, Any, str]]:
    """(label, value, per-choice validator or "") of a question's choices, in order."""
    found = []
    for label, value in spec["choices"].items():
        if isinstance(value, dict):
            found.append((str(label), value["value"], str(value.get("validator", ""))))
        else:
            found.append((str(label), value, ""))
    return found


def _is_templated(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _field(key: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """One question as a JSON Schema property with its rules and widgets."""
    field: dict[str, Any] = {"title": TITLES[key], "type": "string", "description": spec["help"]}
    default = spec.get("default")
    if key in EXAMPLE_DEFAULTS:
        field["ui:placeholder"] = default
    elif default is not None and not _is_templated(default):
        field["default"] = default
    if "choices" in spec:
        choices = _choices(spec)
        field["enum"] = [value for _, value, _ in choices]
        field["enumNames"] = [label for label, _, _ in choices]
    field |= RULES.get(key, {})
    field |= WIDGETS.get(key, {})
    return field


def _is_required(key: str, spec: Mapping[str, Any]) -> bool:
    """Asked of the user: not derived by copier from other answers."""
    return not _is_templated(spec.get("default"))


def _when_field(spec: Mapping[str, Any]) -> str:
    """The one earlier answer a `when` depends on."""
    names = jinja2.meta.find_undeclared_variables(jinja2.Environment().parse(spec["when"]))
    if len(names) != 1:
        raise ValueError(f"a `when` must depend on one choice question, not {sorted(names)}")
    return names.pop()


def _holds(expression: str, answers: Mapping[str, Any]) -> str:
    """Render a copier expression over `answers` (StrictUndefined: a missing answer fails)."""
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
    return environment.from_string(expression).render(**answers).strip()


def _is_true(rendered: str) -> bool:
    """Whether a rendered `when` holds, read as copier reads it."""
    return rendered.lower() not in {"", "false", "0", "no", "off", "none"}


def _refused_combinations(
    questions: Mapping[str, Mapping[str, Any]],
) -> list[tuple[str, Any, str, list[Any]]]:
    """(question, value, choice question, values it refuses) from per-choice validators:
    each is rendered for every value of the one question it reads."""
    refused: dict[tuple[str, Any, str], list[Any]] = {}
    for key, spec in questions.items():
        for _, value, validator in _choices(spec) if "choices" in spec else ():
            if not validator:
                continue
            environment = jinja2.Environment()
            (other,) = jinja2.meta.find_undeclared_variables(environment.parse(validator))
            for _, other_value, _ in _choices(questions[other]):
                if _holds(validator, {other: other_value}):
                    refused.setdefault((other, other_value, key), []).append(value)
    return [
        (other, other_value, key, values) for (other, other_value, key), values in refused.items()
    ]


def load_questions(path: Path = COPIER_YML) -> dict[str, dict[str, Any]]:
    """copier.yml's questions by key, in order (settings starting with `_` left out)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {key: spec for key, spec in data.items() if not key.startswith("_")}


def form(questions: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The Template's `spec.parameters`: one page per PAGES entry, then the repository page."""
    placed = [key for _, keys in PAGES for key in keys]
    if missing := [key for key in questions if key not in placed]:
        raise ValueError(f"questions on no page of the form: {missing}: add them to PAGES")
    if unknown := [key for key in placed if key not in questions]:
        raise ValueError(f"PAGES names keys copier.yml does not ask: {unknown}")
    refusals = _refused_combinations(questions)
    pages: list[dict[str, Any]] = []
    for title, keys in PAGES:
        always = [key for key in keys if "when" not in questions[key]]
        page: dict[str, Any] = {
            "title": title,
            "required": [key for key in always if _is_required(key, questions[key])],
            "properties": {key: _field(key, questions[key]) for key in always},
        }
        conditional = [key for key in keys if "when" in questions[key]]
        by_field: dict[str, list[str]] = {}
        for key in conditional:
            by_field.setdefault(_when_field(questions[key]), []).append(key)
        if by_field:
            page["dependencies"] = {}
        for field, dependants in by_field.items():
            branches = []
            for _, value, _ in _choices(questions[field]):
                shown = [
                    key
                    for key in dependants
                    if _is_true(_holds(questions[key]["when"], {field: value}))
                ]
                branches.append(
                    {
                        "required": shown,
                        "properties": {field: {"enum": [value]}}
                        | {key: _field(key, questions[key]) for key in shown},
                    }
                )
            page["dependencies"][field] = {"oneOf": branches}
        rules = [
            {
                "if": {"properties": {other: {"const": other_value}}, "required": [other]},
                "then": {"properties": {key: {"not": {"enum": values}}}},
            }
            for other, other_value, key, values in refusals
            if key in keys and other in keys
        ]
        if rules:
            page["allOf"] = rules
        pages.append(page)
    return [*pages, REPOSITORY_PAGE]


class _IndentedLists(yaml.SafeDumper):
    """Indents a list under its key, as the rest of catalog-info.yaml is written."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def form_yaml(questions: Mapping[str, Mapping[str, Any]]) -> str:
    """The form as the `parameters:` block of the Template's `spec`, between the markers."""
    body = yaml.dump(
        {"parameters": form(questions)},
        Dumper=_IndentedLists,
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
    indented = "".join(
        f"{INDENT}{line}" if line.strip() else line for line in body.splitlines(True)
    )
    return f"{BEGIN_MARKER}\n{indented}{END_MARKER}\n"


def with_form(catalog_info: str, generated: str) -> str:
    """`catalog_info` with the text between the markers (markers included) replaced."""
    start = catalog_info.find(BEGIN_MARKER)
    end = catalog_info.find(END_MARKER)
    if start < 0 or end < start:
        raise ValueError(
            f"catalog-info.yaml has no '{BEGIN_MARKER.strip()}' ... '{END_MARKER.strip()}'"
        )
    return catalog_info[:start] + generated + catalog_info[end + len(END_MARKER) + 1 :]


def main(argv: list[str] | None = None) -> int:
    """Rewrite the form in catalog-info.yaml, or with --check report whether it drifted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the form is not current")
    arguments = parser.parse_args(argv)
    current = CATALOG_INFO.read_text(encoding="utf-8")
    wanted = with_form(current, form_yaml(load_questions()))
    if arguments.check:
        if wanted != current:
            print(
                "catalog-info.yaml's form differs from copier.yml: run "
                "`python extensions/backstage_form.py`",
                file=sys.stderr,
            )
            return 1
        return 0
    CATALOG_INFO.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
