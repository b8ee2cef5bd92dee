"""The Template form is generated from copier.yml and agrees with copier's validators.

`extensions/backstage_form.py` writes the form into catalog-info.yaml; the checked-in form
must be what it writes now. The form's rules are JSON Schema, evaluated here as the
scaffolder evaluates them (patterns search, lengths count characters): the form must never
refuse an answer copier accepts, and must refuse the shapes copier refuses. What only copier
checks (backstage_form.COPIER_ONLY_RULES) is left to the render step's error.
"""

from __future__ import annotations

import re
from typing import Any

import answer_space
import pytest
import yaml
from extension_modules import load_extension
from hypothesis import given, settings
from hypothesis import strategies as st

answers = load_extension("answers")
backstage_form = load_extension("backstage_form")

FORM = backstage_form.form(backstage_form.load_questions())
PROPERTIES: dict[str, dict[str, Any]] = {
    key: schema for page in FORM for key, schema in page["properties"].items()
}
for _page in FORM:
    for _dependency in _page.get("dependencies", {}).values():
        for _branch in _dependency["oneOf"]:
            PROPERTIES |= {k: v for k, v in _branch["properties"].items() if "title" in v}

# copier's validator for each free-form question, as copier.yml calls it.
COPIER_CHECKS = {
    "project_name": lambda value: answers.free_text_problem(value, "project_name"),
    "description": lambda value: answers.free_text_problem(value, "description"),
    "project_slug": answers.slug_problem,
    "package_name": answers.package_name_problem,
    "owner": answers.owner_problem,
    "schedule": answers.schedule_problem,
}
# utf-8 leaves out lone surrogates, which no answer file can hold.
TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=80) | st.text(
    alphabet="abcxyz019-_./:@ *,GgUuRrOoPpSsEe\t\n\u2028\u202e", max_size=70
)


def form_accepts(key: str, value: str) -> bool:
    """The scaffolder's check of one string field: pattern (a search), lengths, enum."""
    schema = PROPERTIES[key]
    if "pattern" in schema and not re.search(schema["pattern"], value):
        return False
    if len(value) < schema.get("minLength", 0):
        return False
    if len(value) > schema.get("maxLength", len(value)):
        return False
    return "enum" not in schema or value in schema["enum"]


def test_checked_in_form_is_the_generated_one() -> None:
    current = backstage_form.CATALOG_INFO.read_text(encoding="utf-8")
    generated = backstage_form.with_form(
        current, backstage_form.form_yaml(backstage_form.load_questions())
    )
    assert generated == current, "the form drifted: run `python extensions/backstage_form.py`"


def test_generator_refuses_a_question_placed_on_no_page() -> None:
    questions = backstage_form.load_questions() | {"retention": {"type": "str", "help": "x"}}
    with pytest.raises(ValueError, match=r"questions on no page of the form: \['retention'\]"):
        backstage_form.form(questions)


@pytest.mark.parametrize("key", sorted(COPIER_CHECKS))
@settings(max_examples=300, deadline=None)
@given(value=TEXT)
def test_form_never_refuses_what_copier_accepts(key: str, value: str) -> None:
    if not COPIER_CHECKS[key](value):
        assert form_accepts(key, value), (key, value)


# Shapes copier refuses that the form catches in the browser, before any step.
FORM_REFUSES = {
    "project_name": ["", "   ", "two\nlines", "bidi \u202e text", "a" * 501],
    "description": ["", "tab\there", "line\u2028separator"],
    "project_slug": ["Orders", "-orders", "orders_pipeline", "a" * 50],
    "package_name": ["Orders", "2orders", "orders-pipeline", "a" * 25],
    "owner": ["component:default/x", "group:a/b/c", "group:", "team x"],
    "schedule": ["@fortnightly", "0 3 * *", " 0 3 * * *", "0 3 * * * *", "0 3 ? * MON"],
}
# Kept by the form that the issue found refused before: copier's extra presets.
FORM_ACCEPTS = {"schedule": ["@annually", "@midnight", "*/15 2-4 1,15 JAN-MAR mon-fri"]}


@pytest.mark.parametrize(
    ("key", "value"), [(key, value) for key, values in FORM_REFUSES.items() for value in values]
)
def test_form_refuses_what_copier_refuses(key: str, value: str) -> None:
    assert COPIER_CHECKS[key](value), f"copier accepts {value!r}: not a refusal example"
    assert not form_accepts(key, value)


@pytest.mark.parametrize(
    ("key", "value"), [(key, value) for key, values in FORM_ACCEPTS.items() for value in values]
)
def test_form_accepts_what_copier_accepts(key: str, value: str) -> None:
    assert not COPIER_CHECKS[key](value)
    assert form_accepts(key, value)


def allowed_by_rules(page: dict[str, Any], answers_given: dict[str, str]) -> bool:
    """The page's `allOf` of if/then rules (const conditions, `not enum` consequences)."""
    for rule in page.get("allOf", []):
        condition = rule["if"]["properties"]
        if all(answers_given.get(k) == v["const"] for k, v in condition.items()):
            for key, schema in rule["then"]["properties"].items():
                if answers_given.get(key) in schema["not"]["enum"]:
                    return False
    return True


def test_form_refuses_exactly_the_combinations_copier_refuses() -> None:
    page = next(page for page in FORM if "engine" in page["properties"])
    keys = ("pipeline_type", "engine")
    choices = [answer_space.QUESTIONS[key].choices for key in keys]
    for pipeline_type in choices[0]:
        for engine in choices[1]:
            combination = {"pipeline_type": pipeline_type, "engine": engine}
            assert allowed_by_rules(page, combination) == answer_space.is_supported(combination)


def test_the_docs_list_every_rule_only_copier_checks() -> None:
    docs = (backstage_form.REPO_ROOT / "docs" / "backstage.md").read_text(encoding="utf-8")
    for question, rule in backstage_form.COPIER_ONLY_RULES:
        assert f"| {question} | {rule} |" in docs, (question, rule)


def test_generated_form_is_yaml_the_catalog_reads_back() -> None:
    text = backstage_form.form_yaml(backstage_form.load_questions())
    parsed = yaml.safe_load(text)
    assert parsed["parameters"] == FORM
