"""The Backstage entities in catalog-info.yaml: valid for Backstage, in step with copier.yml.

Backstage's own validators (tests/backstage/validate-entities.mjs, run through
`backstage_validator.validate_entities`) must accept the Template and the Component and must
reject broken entities. The Template form must offer exactly the copier questions, with the
same choice values, labels and defaults, so the form can never drift from the questionnaire.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import answer_space
import pytest
import yaml
from extension_modules import load_extension

# tests/ is a rootdir of plain modules today; keep working if it becomes a package.
try:
    from backstage_validator import require_validator, validate_entities
except ModuleNotFoundError:
    from tests.backstage_validator import require_validator, validate_entities

REPO_ROOT = Path(__file__).resolve().parent.parent
CATALOG_INFO = REPO_ROOT / "catalog-info.yaml"
COPIER_YML = REPO_ROOT / "copier.yml"
answers = load_extension("answers")
TEMPLATE_REF = "template:default/data-pipeline-golden-path"
COMPONENT_REF = "component:default/data-pipeline-golden-path"
# Form fields that feed Backstage steps, not copier.
BACKSTAGE_ONLY_PARAMETERS = {"repoUrl"}
RENDER_STEP_ID = "render"

Validator = Callable[[Iterable[str | Path]], tuple[int, str]]


def load_copier_questions() -> dict[str, dict[str, Any]]:
    """copier.yml questions by key; settings (`_...`) and never-asked computed values out."""
    data = yaml.safe_load(COPIER_YML.read_text(encoding="utf-8"))
    questions: dict[str, dict[str, Any]] = {}
    for key, spec in data.items():
        if key.startswith("_"):
            continue
        spec = spec if isinstance(spec, dict) else {"default": spec}
        if spec.get("when") is False:
            continue
        questions[key] = spec
    return questions


def choice_pairs(choices: Any) -> list[tuple[str, Any]]:
    """(label, value) pairs of a copier `choices`, in order, for every form copier accepts."""
    pairs: list[tuple[str, Any]] = []
    if isinstance(choices, dict):
        for label, value in choices.items():
            if isinstance(value, dict):  # per-choice validator form: {value: ..., validator: ...}
                value = value["value"]
            pairs.append((str(label), value))
    else:
        for item in choices:
            if isinstance(item, list | tuple):
                pairs.append((str(item[0]), item[1]))
            else:
                pairs.append((str(item), item))
    return pairs


def is_templated(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def load_entities(path: Path = CATALOG_INFO) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def entity_of_kind(entities: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    matches = [entity for entity in entities if entity.get("kind") == kind]
    assert len(matches) == 1, f"expected one {kind} in catalog-info.yaml, found {len(matches)}"
    return matches[0]


def form_pages(template: dict[str, Any]) -> list[dict[str, Any]]:
    parameters = template["spec"]["parameters"]
    return parameters if isinstance(parameters, list) else [parameters]


def form_branches(template: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(field, value, branch) for each `dependencies: {field: {oneOf: [...]}}` branch of a
    page: the branch shown when `field` is `value` (its `enum` of one value there)."""
    found = []
    for page in form_pages(template):
        for field, dependency in page.get("dependencies", {}).items():
            for branch in dependency["oneOf"]:
                (value,) = branch["properties"][field]["enum"]
                found.append((field, value, branch))
    return found


def form_properties(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every form property of the Template across its pages and their conditional branches
    (a branch's restatement of the field it depends on left out); a key in two places is an
    error."""
    places = [page.get("properties", {}) for page in form_pages(template)]
    places += [
        {key: schema for key, schema in branch["properties"].items() if key != field}
        for field, _, branch in form_branches(template)
    ]
    properties: dict[str, dict[str, Any]] = {}
    for place in places:
        for key, schema in place.items():
            assert key not in properties, f"form property {key!r} appears in two places"
            properties[key] = schema
    return properties


def step(template: dict[str, Any], step_id: str) -> dict[str, Any]:
    for candidate in template["spec"]["steps"]:
        if candidate.get("id") == step_id:
            return candidate
    raise AssertionError(f"Template has no step with id {step_id!r}")


def write_entities(path: Path, entities: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump_all(entities, sort_keys=False), encoding="utf-8")
    return path


try:
    QUESTIONS = load_copier_questions()
    COPIER_YML_ERROR = ""
except yaml.YAMLError as error:  # reported by its own test; the key tests then fail loudly
    QUESTIONS = {}
    COPIER_YML_ERROR = f"copier.yml is not valid YAML: {error}"
CHOICE_KEYS = sorted(key for key, spec in QUESTIONS.items() if "choices" in spec)


@pytest.fixture
def run_validator() -> Validator:
    """`node validate-entities.mjs <files>` as a function returning (exit code, output)."""
    require_validator()
    return validate_entities


@pytest.fixture(scope="module")
def entities() -> list[dict[str, Any]]:
    return load_entities()


@pytest.fixture(scope="module")
def template(entities: list[dict[str, Any]]) -> dict[str, Any]:
    return entity_of_kind(entities, "Template")


@pytest.fixture(scope="module")
def component(entities: list[dict[str, Any]]) -> dict[str, Any]:
    return entity_of_kind(entities, "Component")


# --- Backstage's validators ------------------------------------------------------------


def test_top_level_catalog_info_passes_backstage_validators(run_validator: Validator) -> None:
    rc, output = run_validator([CATALOG_INFO])
    assert rc == 0, output
    assert TEMPLATE_REF in output
    assert COMPONENT_REF in output


def test_a_rendered_project_style_component_passes(
    run_validator: Validator, tmp_path: Path
) -> None:
    component = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": "orders-pipeline",
            "annotations": {"github.com/project-slug": "example-org/orders-pipeline"},
        },
        "spec": {"type": "service", "lifecycle": "experimental", "owner": "group:default/data-eng"},
    }
    rc, output = run_validator([write_entities(tmp_path / "catalog-info.yaml", [component])])
    assert rc == 0, output
    assert "component:default/orders-pipeline" in output


def _without_steps(entity: dict[str, Any]) -> None:
    del entity["spec"]["steps"]


def _invalid_name(entity: dict[str, Any]) -> None:
    entity["metadata"]["name"] = "Data Pipeline Golden Path!"


def _no_owner(entity: dict[str, Any]) -> None:
    del entity["spec"]["owner"]


def _default_outside_enum(entity: dict[str, Any]) -> None:
    form_properties(entity)["engine"]["default"] = "not-an-engine"


def _branch_default_outside_enum(entity: dict[str, Any]) -> None:
    form_properties(entity)["stream_source"]["default"] = "not-a-broker"


# case id -> (kind to break, how, entity ref the message must name, text the message must hold)
BROKEN_ENTITIES: dict[str, tuple[str, Callable[[dict[str, Any]], None], str, str]] = {
    "template-no-steps": ("Template", _without_steps, TEMPLATE_REF, "steps"),
    "component-invalid-name": (
        "Component",
        _invalid_name,
        "component:default/Data Pipeline Golden Path!",
        "metadata.name",
    ),
    "component-no-owner": ("Component", _no_owner, COMPONENT_REF, "owner"),
    "template-form-default-outside-enum": (
        "Template",
        _default_outside_enum,
        TEMPLATE_REF,
        "properties.engine: default",
    ),
    "template-form-branch-default-outside-enum": (
        "Template",
        _branch_default_outside_enum,
        TEMPLATE_REF,
        "oneOf[1].properties.stream_source: default",
    ),
}


@pytest.fixture(scope="module")
def broken_run(
    tmp_path_factory: pytest.TempPathFactory, entities: list[dict[str, Any]]
) -> tuple[int, str, dict[str, Path]]:
    """One validator run over one file per broken case (Node start-up dominates a run)."""
    require_validator()
    directory = tmp_path_factory.mktemp("broken-entities")
    paths: dict[str, Path] = {}
    for case, (kind, break_entity, _, _) in BROKEN_ENTITIES.items():
        broken = copy.deepcopy(entity_of_kind(entities, kind))
        break_entity(broken)
        paths[case] = write_entities(directory / f"{case}.yaml", [broken])
    paths["invalid-yaml"] = directory / "invalid-yaml.yaml"
    paths["invalid-yaml"].write_text("kind: Component\nkind: Component\n", encoding="utf-8")
    rc, output = validate_entities(paths.values())
    return rc, output, paths


def lines_about(output: str, path: Path) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(f"{path.resolve()}: ")]


@pytest.mark.parametrize("case", BROKEN_ENTITIES)
def test_validator_rejects_a_broken_entity_naming_file_entity_and_problem(
    broken_run: tuple[int, str, dict[str, Path]], case: str
) -> None:
    rc, output, paths = broken_run
    _, _, entity_ref, expected = BROKEN_ENTITIES[case]
    assert rc == 1, output
    problems = lines_about(output, paths[case])
    assert problems, f"no violation reported for {paths[case]}:\n{output}"
    assert all(entity_ref in line for line in problems), output
    assert any(expected in line for line in problems), output


def test_validator_rejects_invalid_yaml(broken_run: tuple[int, str, dict[str, Path]]) -> None:
    rc, output, paths = broken_run
    assert rc == 1, output
    assert any("YAML error" in line for line in lines_about(output, paths["invalid-yaml"])), output


# --- The form mirrors the questionnaire ------------------------------------------------


def test_copier_yml_parses() -> None:
    assert not COPIER_YML_ERROR, COPIER_YML_ERROR


def test_form_parameter_keys_equal_copier_question_keys(template: dict[str, Any]) -> None:
    assert QUESTIONS, COPIER_YML_ERROR or "copier.yml has no question"
    form_keys = set(form_properties(template)) - BACKSTAGE_ONLY_PARAMETERS
    assert form_keys == set(QUESTIONS), (
        f"only in the form: {sorted(form_keys - set(QUESTIONS))}; "
        f"only in copier.yml: {sorted(set(QUESTIONS) - form_keys)}"
    )


def test_copier_offers_choice_questions_to_mirror() -> None:
    assert CHOICE_KEYS, COPIER_YML_ERROR or "copier.yml offers no choice question"


@pytest.mark.parametrize("key", CHOICE_KEYS)
def test_form_enum_offers_exactly_the_copier_choices(template: dict[str, Any], key: str) -> None:
    schema = form_properties(template)[key]
    labels, values = zip(*choice_pairs(QUESTIONS[key]["choices"]), strict=True)
    assert schema.get("enum") == list(values)
    assert schema.get("enumNames") == list(labels)


@pytest.mark.parametrize("key", CHOICE_KEYS)
def test_form_enum_default_is_the_copier_default(template: dict[str, Any], key: str) -> None:
    copier_default = QUESTIONS[key].get("default")
    if is_templated(copier_default):
        pytest.skip(f"copier derives the default of {key} from other answers")
    assert form_properties(template)[key].get("default") == copier_default


def test_every_form_default_equals_the_copier_default(template: dict[str, Any]) -> None:
    for key, schema in form_properties(template).items():
        if key in BACKSTAGE_ONLY_PARAMETERS or "default" not in schema:
            continue
        copier_default = QUESTIONS[key].get("default")
        assert not is_templated(copier_default), (
            f"{key}: copier derives its default, the form must leave it empty"
        )
        assert schema["default"] == copier_default, key


def test_a_question_asked_only_for_some_answers_is_shown_only_for_those(
    template: dict[str, Any],
) -> None:
    # copier.yml's `when` -> the branch of the field it names; every other question is a
    # field of its page, always shown.
    conditional = {key for key, spec in QUESTIONS.items() if "when" in spec}
    branches = form_branches(template)
    assert conditional, "copier.yml has no question with a `when`"
    assert {field for field, _, _ in branches} == {"pipeline_type"}
    assert sorted(value for _, value, _ in branches) == sorted(
        answer_space.QUESTIONS["pipeline_type"].choices
    )
    for field, value, branch in branches:
        shown = set(branch["properties"]) - {field}
        asked = {
            key
            for key in conditional
            if answer_space.is_asked(answer_space.QUESTIONS[key], {field: value})
        }
        assert shown == asked, f"{field}={value}"
        assert sorted(branch.get("required", [])) == sorted(shown), f"{field}={value}"
    page_fields = {key for page in form_pages(template) for key in page.get("properties", {})}
    assert not conditional & page_fields


def test_derived_answers_are_optional_in_the_form(template: dict[str, Any]) -> None:
    """A templated copier default can only be computed by copier: the form must not require it."""
    parameters = template["spec"]["parameters"]
    required = {key for page in parameters for key in page.get("required", [])}
    required |= {key for _, _, branch in form_branches(template) for key in branch["required"]}
    derived = {key for key, spec in QUESTIONS.items() if is_templated(spec.get("default"))}
    assert not required & derived


def test_form_slug_pattern_matches_dns_1123_labels(template: dict[str, Any]) -> None:
    schema = form_properties(template)["project_slug"]
    assert schema["maxLength"] == answers.MAX_SLUG_LENGTH
    pattern = re.compile(schema["pattern"])
    for good in ("orders-pipeline", "a", "etl2"):
        assert pattern.search(good), good
    for bad in ("Orders", "-orders", "orders-", "orders_pipeline", "orders pipeline"):
        assert not pattern.search(bad), bad


def test_form_package_name_length_is_the_validators_limit(template: dict[str, Any]) -> None:
    assert form_properties(template)["package_name"]["maxLength"] == answers.MAX_PACKAGE_NAME_LENGTH


# --- The steps: copier, then publish, then register ------------------------------------


def test_steps_render_with_copier_then_publish_then_register(template: dict[str, Any]) -> None:
    actions = [candidate["action"] for candidate in template["spec"]["steps"]]
    assert actions == ["platform:copier:copy", "publish:github", "catalog:register"]
    register = step(template, "register")["input"]
    assert register["catalogInfoPath"] == "/catalog-info.yaml"
    assert "steps['publish'].output.repoContentsUrl" in register["repoContentsUrl"]


def test_render_step_passes_every_answer_from_its_own_parameter(template: dict[str, Any]) -> None:
    data = step(template, RENDER_STEP_ID)["input"]["data"]
    assert data == {key: f"${{{{ parameters.{key} }}}}" for key in QUESTIONS}


def test_render_step_copies_this_repository(
    template: dict[str, Any], component: dict[str, Any]
) -> None:
    """The placeholder org is replaced everywhere or nowhere: the copier URL is this repo."""
    slug = component["metadata"]["annotations"]["github.com/project-slug"]
    url = step(template, RENDER_STEP_ID)["input"]["url"]
    assert url == f"https://github.com/{slug}.git"


def test_component_describes_the_template_repository(component: dict[str, Any]) -> None:
    assert component["spec"]["owner"] == "group:default/platform-team"
    assert component["spec"]["lifecycle"] == "production"
    assert component["metadata"]["annotations"]["backstage.io/techdocs-ref"] == "dir:."
