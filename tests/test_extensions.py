"""Unit tests of the template's Jinja extensions: answer filters and the context hook.

extensions/ is not a package (Copier loads its files by path), so the tests load them the
same way. Credential-like values are assembled at run time so secret scanners do not flag
this file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import answer_space
import pytest
from copier.errors import UserMessageError
from extension_modules import load_extension
from jinja2 import Environment, StrictUndefined

answers = load_extension("answers")
context = load_extension("context")


# ---------------------------------------------------------------------------------------
# Derivations
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Orders Pipeline", "orders-pipeline"),
        ("  Orders -- Pipeline!! ", "orders-pipeline"),
        ("ORDERS_2024 v2", "orders-2024-v2"),
        ("Café Olé", "cafe-ole"),
        ("a" * 70, "a" * answers.MAX_SLUG_LENGTH),
        ("x" * 48 + " yz", "x" * 48),
        ("!!!", "pipeline"),
        ("中文", "pipeline"),
    ],
)
def test_slugify_makes_a_dns_label_from_a_human_name(text: str, slug: str) -> None:
    assert answers.slugify(text) == slug


@pytest.mark.parametrize(
    ("slug", "package"),
    [
        ("orders-pipeline", "orders_pipeline"),
        ("orders", "orders"),
        ("a-b-c", "a_b_c"),
        # Derived defaults are always valid: copier fails with a traceback on one that is not.
        ("2024-orders", "pipeline_2024_orders"),
        ("polars", "polars_pipeline"),
        ("class", "class_pipeline"),
        ("a" * 49, "a" * answers.MAX_PACKAGE_NAME_LENGTH),
    ],
)
def test_package_from_slug_turns_dashes_into_underscores(slug: str, package: str) -> None:
    assert answers.package_from_slug(slug) == package


@pytest.mark.parametrize(
    "name", ["Orders Pipeline", "Customer 360 Feed", "Café Sales", "Click-stream sessions"]
)
def test_names_derive_a_valid_slug_and_package(name: str) -> None:
    slug = answers.slugify(name)
    assert answers.slug_problem(slug) == ""
    assert answers.package_name_problem(answers.package_from_slug(slug)) == ""


# ---------------------------------------------------------------------------------------
# project_slug
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "slug", ["orders-pipeline", "a", "0", "2024-orders", "a" * answers.MAX_SLUG_LENGTH]
)
def test_slug_problem_accepts_dns_labels(slug: str) -> None:
    assert answers.slug_problem(slug) == ""


@pytest.mark.parametrize(
    ("slug", "suggestion"),
    [
        ("Orders_Pipeline", "orders-pipeline"),
        ("orders_pipeline", "orders-pipeline"),
        ("-orders", "orders"),
        ("orders-", "orders"),
        ("orders pipeline", "orders-pipeline"),
        ("orders.pipeline", "orders-pipeline"),
        ("", "pipeline"),
    ],
)
def test_slug_problem_rejects_non_labels_and_suggests_one(slug: str, suggestion: str) -> None:
    problem = answers.slug_problem(slug)
    assert problem.startswith(f"project_slug '{slug}' is not a DNS-1123 label")
    assert "use lowercase letters, digits and '-'" in problem
    assert f"at most {answers.MAX_SLUG_LENGTH} characters" in problem
    assert problem.endswith(f"(e.g. '{suggestion}')")


def test_slug_limit_leaves_room_for_the_longest_kubernetes_suffix() -> None:
    # The Job `<slug>-partition-run` names its pods' job-name label: 63 characters at most.
    assert 63 - len("-partition-run") == answers.MAX_SLUG_LENGTH


def test_slug_problem_says_how_long_a_too_long_slug_is_and_the_real_limit() -> None:
    limit = answers.MAX_SLUG_LENGTH
    problem = answers.slug_problem("a" * (limit + 1))
    assert f"is {limit + 1} characters long: at most {limit}" in problem
    assert "'<slug>-partition-run'" in problem
    assert problem.endswith(f"(e.g. '{'a' * limit}')")


# ---------------------------------------------------------------------------------------
# package_name
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["orders_pipeline", "_private", "orders2", "json_pipeline"])
def test_package_name_problem_accepts_free_identifiers(name: str) -> None:
    assert answers.package_name_problem(name) == ""


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("Orders", "orders"),
        ("2024_orders", "pipeline_2024_orders"),
        ("orders-pipeline", "orders_pipeline"),
        ("orders pipeline", "orders_pipeline"),
        ("", "orders_pipeline"),
    ],
)
def test_package_name_problem_rejects_invalid_identifiers(name: str, suggestion: str) -> None:
    problem = answers.package_name_problem(name)
    assert problem.startswith(f"package_name '{name}' is not a valid Python package name")
    assert problem.endswith(f"(e.g. '{suggestion}')")


def test_package_name_problem_caps_the_length_so_rendered_imports_fit_the_line() -> None:
    limit = answers.MAX_PACKAGE_NAME_LENGTH
    assert answers.package_name_problem("q" * limit) == ""
    problem = answers.package_name_problem("q" * (limit + 1))
    assert f"is {limit + 1} characters long: at most {limit}" in problem
    assert "100-column line length" in problem
    assert "--data package_name=" in problem


@pytest.mark.parametrize("name", ["class", "def", "import", "lambda", "match", "case", "_"])
def test_package_name_problem_rejects_keywords_and_soft_keywords(name: str) -> None:
    assert "is a Python keyword" in answers.package_name_problem(name)


@pytest.mark.parametrize("name", ["json", "os", "typing", "logging", "csv", "this"])
def test_package_name_problem_rejects_stdlib_modules(name: str) -> None:
    problem = answers.package_name_problem(name)
    assert "standard library" in problem
    assert f"(e.g. '{name}_pipeline')" in problem


# Names a package_name could take (lowercase identifiers): `OpenSSL` is covered by case below.
IMPORT_NAMES_IN_REACH = sorted(
    name
    for name in answers.IMPORT_NAMES - answers.PROJECT_LAYOUT_NAMES
    if answers._PACKAGE_NAME.fullmatch(name)
)


@pytest.mark.parametrize("name", IMPORT_NAMES_IN_REACH)
def test_package_name_problem_rejects_names_the_environment_can_import(name: str) -> None:
    problem = answers.package_name_problem(name)
    assert problem.startswith(f"package_name '{name}' ")
    if len(name) > answers.MAX_PACKAGE_NAME_LENGTH:  # refused for its length first
        assert "characters long" in problem
    else:
        assert "would shadow it" in problem


@pytest.mark.parametrize("name", ["dags", "flows", "src", "statemachine", "tests", "deploy"])
def test_package_name_problem_rejects_the_projects_own_top_level_names(name: str) -> None:
    problem = answers.package_name_problem(name)
    assert problem.startswith(f"package_name '{name}' is a top-level folder or module")
    assert f"(e.g. '{name}_pipeline')" in problem


@pytest.mark.parametrize(("name", "reserved"), [("openssl", "OpenSSL"), ("yaml", "yaml")])
def test_package_name_problem_rejects_names_equal_but_for_case(name: str, reserved: str) -> None:
    problem = answers.package_name_problem(name)
    if name == reserved:
        assert "would shadow it" in problem
    else:
        assert f"differs only by case from the module '{reserved}'" in problem


def test_reserved_package_names_cover_the_projects_dependencies() -> None:
    required = {
        *("polars", "pandas", "pyarrow", "numpy", "typer", "click", "rich", "pydantic"),
        *("pydantic_settings", "opentelemetry", "pytest", "mypy", "ruff", "boto3"),
        *("botocore", "psycopg", "yaml", "jinja2", "src", "tests", "dask"),
        *("pyspark", "airflow", "dagster", "prefect", "grpc", "deltalake", "moto"),
        *("google", "requests", "urllib3", "typing_extensions", "narwhals", "duckdb"),
        # Only transitive dependencies: shadowed at run time all the same.
        *("certifi", "idna", "jmespath", "dateutil", "six", "packaging", "attr"),
    }
    assert required <= answers.RESERVED_PACKAGE_NAMES


# ---------------------------------------------------------------------------------------
# owner
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "owner",
    [
        "group:default/data-eng",
        "data-eng",
        "default/data-eng",
        "user:jdoe",
        "User:default/j.doe",
        "GROUP:data_eng",
        "group:team-a/data.eng_2",
        "a" * 63,
    ],
)
def test_owner_problem_accepts_group_and_user_entity_refs(owner: str) -> None:
    assert answers.owner_problem(owner) == ""


@pytest.mark.parametrize(
    ("owner", "what"),
    [
        ("", "the name is empty"),
        ("component:data-eng", "the kind 'component' is not an owner kind"),
        ("group:", "the name is empty"),
        ("group:default/", "the name is empty"),
        ("group:/data-eng", "the namespace is empty"),
        ("data eng", "the name 'data eng' must be letters and digits"),
        ("data--eng", "the name 'data--eng' must be letters and digits"),
        ("-data", "the name '-data' must be letters and digits"),
        ("group:data-eng.", "the name 'data-eng.' must be letters and digits"),
        ("group:a/b/c", "the namespace 'a/b' must be letters and digits"),
        ("a" * 64, "is longer than 63 characters"),
        ("group:" + "n" * 64 + "/x", "the namespace '" + "n" * 64 + "' is longer than 63"),
    ],
)
def test_owner_problem_rejects_malformed_refs_and_shows_the_form(owner: str, what: str) -> None:
    problem = answers.owner_problem(owner)
    assert problem.startswith(f"owner '{owner}' is not a Backstage owner entity ref")
    assert what in problem
    assert problem.endswith("(e.g. 'group:default/data-eng')")


def test_owner_problem_reports_every_broken_part() -> None:
    problem = answers.owner_problem("team:bad ns/bad name")
    assert "the kind 'team'" in problem
    assert "the namespace 'bad ns'" in problem
    assert "the name 'bad name'" in problem


# ---------------------------------------------------------------------------------------
# free text
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "field"),
    [
        ("Orders Pipeline", "project_name"),
        ("Loads orders into an analytics-ready Parquet dataset.", "description"),
        ("x" * 500, "description"),
        ("Reads the secret named orders/db-password", "description"),
    ],
)
def test_free_text_problem_accepts_short_text(value: str, field: str) -> None:
    assert answers.free_text_problem(value, field) == ""


@pytest.mark.parametrize(
    ("value", "field", "what"),
    [
        ("", "project_name", "project_name is empty: write a short text (e.g. 'Orders Pipeline')"),
        ("   ", "description", "description is empty: write a short text (e.g. 'Loads"),
        ("x" * 501, "description", "description is 501 characters long: shorten it to at most"),
        (
            "Orders\nPipeline",
            "project_name",
            "project_name contains a control character (U+000A) at position 7",
        ),
        (
            "Loads orders.\rAlso refunds.",
            "description",
            "description contains a control character (U+000D) at position 14",
        ),
    ],
)
def test_free_text_problem_rejects_empty_long_or_multiline_text(
    value: str, field: str, what: str
) -> None:
    assert answers.free_text_problem(value, field).startswith(what)


# ---------------------------------------------------------------------------------------
# credentials
# ---------------------------------------------------------------------------------------
AWS_SUFFIX = "IOSFODNN7" + "EXAMPLE"
CREDENTIALS = [
    ("an AWS access key id", "AKIA" + AWS_SUFFIX),
    ("an AWS access key id", "ASIA" + AWS_SUFFIX),
    ("an AWS access key id", "ABIA" + AWS_SUFFIX),
    ("an AWS access key id", "ACCA" + AWS_SUFFIX),
    ("a private key block", "-----BEGIN " + "PRIVATE KEY-----"),
    ("a private key block", "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEow\n-----END"),
    ("a private key block", "-----BEGIN OPENSSH " + "PRIVATE KEY-----"),
    ("a private key block", "-----BEGIN EC " + "PRIVATE KEY-----"),
    ("a private key block", "-----BEGIN ENCRYPTED " + "PRIVATE KEY-----"),
    ("a private key block", "-----BEGIN PGP " + "PRIVATE KEY BLOCK-----"),
    ("a URL with user:password@ in it", "postgres://" + "u:p" + "@host/db"),
    ("a URL with user:password@ in it", "https://" + "user:pa55" + "@example.com/x"),
    ("a URL with user:password@ in it", "redis://" + ":s3cret" + "@cache:6379/0"),
    ("a URL with user:password@ in it", "mongodb+srv://" + "app:pw" + "@cluster0.example.net"),
    ("a URL with user:password@ in it", "amqp://" + "guest:guest" + "@localhost:5672/"),
    *[("a GitHub token", prefix + "_" + "A1b2C3d4E5" * 4) for prefix in ("ghp", "gho", "ghu")],
    *[("a GitHub token", prefix + "_" + "A1b2C3d4E5" * 4) for prefix in ("ghs", "ghr")],
    ("a GitHub token", "github" + "_pat_" + "11ABCDEFG0_" + "a1B2c3D4e5" * 6),
    ("a GitHub token", "GH_TOKEN_" + "ghp" + "_" + "A1b2C3d4E5" * 4),
    *[("a Slack token", f"xox{letter}-" + "1234567890-abcdEFGH") for letter in "abprs"],
    ("a Stripe secret key", "sk" + "_live_" + "51H8abcdEFGHijklMNOP"),
    ("a Stripe secret key", "rk" + "_live_" + "51H8abcdEFGHijklMNOP"),
    ("an OpenAI-style API key", "sk-" + "abcdefghij" * 2),
    ("an OpenAI-style API key", "sk-" + "proj-" + "Ab_Cd-" * 6),
    ("a Google API key", "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6q"),
    ("a GitLab token", "glpat" + "-" + "xYz12AbC3dEf45GhIj6k"),
    ("an npm token", "npm" + "_" + "a1B2c3D4e5" * 3 + "F6g7H8"),
    ("a JSON Web Token", "eyJ" + "hbGciOiJIUzI1NiJ9." + "eyJ" + "zdWIiOiIxIn0.c2ln"),
]


@pytest.mark.parametrize(("kind", "secret"), CREDENTIALS)
def test_free_text_problem_rejects_each_credential_kind_without_echoing_it(
    kind: str, secret: str
) -> None:
    problem = answers.free_text_problem(f"Loads orders with {secret} inside", "description")
    assert problem.startswith(f"description looks like it contains a credential ({kind})")
    assert "answers must hold references (secret names, ARNs), never secret values" in problem
    assert secret not in problem


# Each question's check, for properties every validator shares.
EVERY_CHECK = pytest.mark.parametrize(
    "check",
    [
        answers.slug_problem,
        answers.package_name_problem,
        answers.owner_problem,
        answers.schedule_problem,
        lambda value: answers.free_text_problem(value, "project_name"),
    ],
    ids=["project_slug", "package_name", "owner", "schedule", "project_name"],
)


@EVERY_CHECK
@pytest.mark.parametrize(("kind", "secret"), CREDENTIALS[::5])
def test_every_validator_refuses_credentials_without_echoing_them(
    check: Callable[[str], str], kind: str, secret: str
) -> None:
    problem = check(secret)
    assert f"({kind})" in problem
    assert secret not in problem


@pytest.mark.parametrize(
    "text",
    [
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders/db",
        "Reads the DSN from the ORDERS_DB_URL setting",
        "postgres://host/db",
        "ssh://git@github.com/acme/orders.git",
        "https://example.com/path?user=a:b",
        "Mail data-eng@example.com about failures",
        "Rotate the ghp_ tokens and the sk- keys yearly",
        "Risk-assessment-and-monitoring-for-orders",
        "Scores with the sk-learn model",
        "Keeps the PRIVATE KEY out of answers",
        "AKIA is the prefix of long-term AWS key ids",
        "Consumes eyJ-prefixed payloads",
    ],
)
def test_credential_check_lets_references_and_prose_through(text: str) -> None:
    assert answers.credential_kind(text) == ""
    assert answers.free_text_problem(text, "description") == ""


# ---------------------------------------------------------------------------------------
# schedule
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "schedule",
    [
        *answers.SCHEDULE_PRESETS,
        "* * * * *",
        "0 3 * * *",
        "*/15 * * * *",
        "0 0-23/2 * * *",
        "0 9-17 * * MON-FRI",
        "0 9 * * mon-fri",
        "0 0 1 JAN,JUL *",
        "59 23 31 12 7",
        "0 0 * * 0",
        "0 12 1-15/7 * sun",
        "5,10,15 * * * *",
        "0 0 29 feb *",
        "0 0 * * 5-7",
        "7-7 * * * *",
        "0  3 * * *",
    ],
)
def test_schedule_problem_accepts_presets_and_cron_expressions(schedule: str) -> None:
    assert answers.schedule_problem(schedule) == ""


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("0 25 * * *", "schedule '0 25 * * *': hour field '25' is out of range 0-23"),
        ("60 * * * *", "minute field '60' is out of range 0-59"),
        ("0 24 * * *", "hour field '24' is out of range 0-23"),
        ("0 0 0 * *", "day-of-month field '0' is out of range 1-31"),
        ("0 0 32 * *", "day-of-month field '32' is out of range 1-31"),
        ("0 0 1-32 * *", "day-of-month field '1-32': '32' is out of range 1-31"),
        ("0 0 * 13 *", "month field '13' is out of range 1-12 or JAN-DEC"),
        ("0 0 * 0 *", "month field '0' is out of range 1-12 or JAN-DEC"),
        ("0 0 * * 8", "day-of-week field '8' is out of range 0-7 or SUN-SAT"),
        ("0 0 * FOO *", "month field 'FOO' is not a value: use 1-12 or JAN-DEC"),
        ("0 0 * * MON-SUNDAY", "day-of-week field 'MON-SUNDAY': 'SUNDAY' is not a value"),
        ("0 0 * * JAN", "day-of-week field 'JAN' is not a value"),
        ("0 0 * * FRI-MON", "day-of-week field 'FRI-MON' is a range that runs backwards"),
        ("30-10 * * * *", "minute field '30-10' is a range that runs backwards"),
        ("*/0 * * * *", "minute field '*/0' has a step that is not a whole number of at least 1"),
        ("*/x * * * *", "minute field '*/x' has a step that is not a whole number"),
        ("*/ * * * *", "minute field '*/' has a step that is not a whole number"),
        ("5/15 * * * *", "minute field '5/15' puts a step after a single value: write '*/15'"),
        ("1,,2 * * * *", "minute field '1,,2': '' is not a value"),
        ("1, * * * *", "minute field '1,': '' is not a value"),
        ("-5 * * * *", "minute field '-5': '' is not a value"),
        ("? * * * *", "minute field '?' is not a value"),
        ("H 3 * * *", "minute field 'H' is not a value"),
        ("0 0 L * *", "day-of-month field 'L' is not a value"),
        ("0 0 * * 1#2", "day-of-week field '1#2' is not a value"),
        ("\u0663 * * * *", "minute field '\u0663' is not a value"),
        ("", "schedule '' has 0 fields, cron needs exactly 5"),
        ("0 3 * *", "schedule '0 3 * *' has 4 fields, cron needs exactly 5"),
        ("0 0 3 * * *", "schedule '0 0 3 * * *' has 6 fields, cron needs exactly 5"),
        ("@quarterly", "schedule '@quarterly' is not a known preset"),
        ("@DAILY", "schedule '@DAILY' is not a known preset"),
        (" 0 3 * * *", "must be one line without leading or trailing spaces"),
        ("0 3 * * *\n", "must be one line without leading or trailing spaces"),
        ("0\t3 * * *", "must be one line without leading or trailing spaces"),
    ],
)
def test_schedule_problem_names_the_bad_field(schedule: str, message: str) -> None:
    problem = answers.schedule_problem(schedule)
    assert problem.startswith("schedule '")
    assert message in problem


@pytest.mark.parametrize("schedule", ["0 3 * *", "@quarterly"])
def test_schedule_problem_shows_presets_and_an_example_for_malformed_input(schedule: str) -> None:
    problem = answers.schedule_problem(schedule)
    assert "@hourly, @daily, @weekly, @monthly, @yearly, @annually, @midnight" in problem
    assert "(e.g. '0 3 * * *')" in problem


# ---------------------------------------------------------------------------------------
# Registration with Jinja
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("expression", "rendered"),
    [
        ("{{ 'Orders Pipeline' | slugify }}", "orders-pipeline"),
        ("{{ 'orders-pipeline' | package_from_slug }}", "orders_pipeline"),
        ("{{ 'orders-pipeline' | slug_problem }}", ""),
        ("{{ 'orders_pipeline' | package_name_problem }}", ""),
        ("{{ 'group:default/data-eng' | owner_problem }}", ""),
        ("{{ 'Orders' | free_text_problem('project_name') }}", ""),
        ("{{ '@daily' | schedule_problem }}", ""),
        ("{{ 'os' | package_name_problem }}", answers.package_name_problem("os")),
    ],
)
def test_answer_filters_extension_registers_every_filter(expression: str, rendered: str) -> None:
    environment = Environment(extensions=[answers.AnswerFilters])
    assert environment.from_string(expression).render() == rendered


# ---------------------------------------------------------------------------------------
# Context hook
# ---------------------------------------------------------------------------------------
VALID_ANSWERS = {
    "project_name": "Orders Pipeline",
    "project_slug": "orders-pipeline",
    "package_name": "orders_pipeline",
    "description": "Loads orders into an analytics-ready Parquet dataset.",
    "owner": "group:default/data-eng",
    "schedule": "@daily",
}


def render_with_hook(template: str, **variables: object) -> str:
    """Render `template` the way Copier does: a render context always has _copier_conf."""
    environment = Environment(extensions=[context.DerivedContext])
    return environment.from_string(template).render(_copier_conf={}, **variables)


def test_answer_problems_is_empty_for_valid_answers() -> None:
    assert context.answer_problems(VALID_ANSWERS) == []


def test_answer_problems_lists_every_invalid_answer_in_question_order() -> None:
    answers_given = {**VALID_ANSWERS, "schedule": "0 25 * * *", "package_name": "class"}
    problems = context.answer_problems(answers_given)
    assert [problem.split(" ", 1)[0] for problem in problems] == ["package_name", "schedule"]


def test_answer_problems_checks_only_answers_present() -> None:
    assert context.answer_problems({"package_name": "orders_pipeline"}) == []
    assert len(context.answer_problems({"owner": "component:x"})) == 1


@pytest.mark.parametrize(
    ("variables", "version"),
    [
        ({"_commit": "v0.1.0"}, "v0.1.0"),
        ({"_commit": "v0.1.0-3-gabc1234"}, "v0.1.0-3-gabc1234"),
        ({"_commit": ""}, "0.0.0+unknown"),
        ({"_commit": None}, "0.0.0+unknown"),
        ({}, "0.0.0+unknown"),
    ],
)
def test_hook_adds_template_version_from_the_commit(
    variables: dict[str, object], version: str
) -> None:
    rendered = render_with_hook(
        "{{ template_version }}", _copier_phase="render", **VALID_ANSWERS, **variables
    )
    assert rendered == version


def test_hook_keeps_nothing_between_renders() -> None:
    environment = Environment(extensions=[context.DerivedContext])
    template = environment.from_string("{{ template_version }}")
    assert template.render(_copier_conf={}, _commit="v1.0.0") == "v1.0.0"
    assert template.render(_copier_conf={}) == "0.0.0+unknown"


def test_hook_refuses_to_render_invalid_answers_listing_each_problem() -> None:
    invalid = {**VALID_ANSWERS, "package_name": "class", "owner": "team:x"}
    with pytest.raises(ValueError, match="Cannot render the project") as raised:
        render_with_hook("{{ project_slug }}", _copier_phase="render", **invalid)
    message = str(raised.value)
    assert "package_name 'class' is a Python keyword" in message
    assert "owner 'team:x' is not a Backstage owner entity ref" in message
    assert "--data key=value" in message
    # A UserMessageError makes the copier CLI print the message without a traceback.
    assert isinstance(raised.value, UserMessageError)


@pytest.mark.parametrize("phase", ["render", "tasks", "migrate", "undefined", None])
def test_hook_checks_answers_in_every_phase_but_the_prompt(phase: str | None) -> None:
    phase_variable = {} if phase is None else {"_copier_phase": phase}
    with pytest.raises(ValueError, match="package_name 'class'"):
        render_with_hook("x", **phase_variable, **{**VALID_ANSWERS, "package_name": "class"})


def test_hook_leaves_half_answered_questionnaires_to_the_validators() -> None:
    rendered = render_with_hook(
        "{{ template_version }}", _copier_phase="prompt", project_name="Class", package_name="class"
    )
    assert rendered == "0.0.0+unknown"


REPOSITORY_ROOT = str(Path(__file__).resolve().parent.parent)


def render_prompt_with_given(given: dict[str, str], **answered: str) -> str:
    """Render during the prompt, with `given` as the answers of --data, as Copier does."""
    environment = Environment(
        extensions=[context.DerivedContext, answers.AnswerFilters], undefined=StrictUndefined
    )
    conf = {"data": given, "src_path": REPOSITORY_ROOT}
    return environment.from_string("{{ template_version }}").render(
        _copier_conf=conf, _copier_phase="prompt", **given, **answered
    )


def test_hook_refuses_given_answers_that_their_questions_refuse_during_the_prompt() -> None:
    with pytest.raises(UserMessageError) as raised:
        render_prompt_with_given({"engine": "duckdb", "owner": "team:x", "project_name": "ok"})
    message = str(raised.value)
    assert "engine 'duckdb' is not one of the choices: use one of dask, pandas" in message
    assert "owner" in message and "e.g. 'group:default/" in message
    assert "project_name" not in message


def test_hook_defers_a_given_answer_whose_validator_names_an_unknown_answer() -> None:
    # The schedule's validator names the orchestrator: unknown at the first render, so the
    # check waits; once the orchestrator is answered, the schedule is checked with it.
    assert render_prompt_with_given({"schedule": "0 3 * * *"}) == "0.0.0+unknown"
    with pytest.raises(UserMessageError, match="schedule '0 25"):
        render_prompt_with_given({"schedule": "0 25 * * *"}, orchestrator="airflow")


def test_hook_leaves_typed_answers_to_their_validators() -> None:
    assert render_prompt_with_given({}, project_name="") == "0.0.0+unknown"


def test_hook_runs_the_validator_of_a_given_choice() -> None:
    # Spark carries its own validator in copier.yml (batch only); a mapping choice is read
    # by its value, so spark given for batch is accepted.
    assert render_prompt_with_given({"engine": "spark"}, pipeline_type="batch") == "0.0.0+unknown"
    with pytest.raises(UserMessageError, match="engine 'spark': Spark is batch only"):
        render_prompt_with_given({"engine": "spark", "pipeline_type": "streaming"})


def test_hook_refuses_a_pipeline_type_other_than_the_projects_recorded_one(
    tmp_path: Path,
) -> None:
    (tmp_path / ".copier-answers.yml").write_text("pipeline_type: batch\n", encoding="utf-8")
    environment = Environment(
        extensions=[context.DerivedContext, answers.AnswerFilters], undefined=StrictUndefined
    )
    conf = {"data": {}, "src_path": REPOSITORY_ROOT, "dst_path": tmp_path}
    conf["answers_file"] = ".copier-answers.yml"

    def render(pipeline_type: str) -> str:
        return environment.from_string("{{ template_version }}").render(
            _copier_conf=conf, _copier_phase="prompt", pipeline_type=pipeline_type
        )

    assert render("batch") == "0.0.0+unknown"
    with pytest.raises(UserMessageError, match="pipeline_type cannot change from 'batch' to"):
        render("streaming")


# ---------------------------------------------------------------------------------------
# engine data (extensions/dependencies/engines/<engine>.toml)
# ---------------------------------------------------------------------------------------
OFFERED_ENGINES = answer_space.QUESTIONS["engine"].choices


@pytest.mark.parametrize("engine", OFFERED_ENGINES)
def test_every_offered_engine_has_its_dependencies_prefix_config_and_job_memory(
    engine: str,
) -> None:
    derived = context.engine_context(engine)
    assert derived["engine_dependencies"], f"{engine} renders no runtime requirement"
    assert derived["engine_prefix"].isidentifier() and derived["engine_prefix"][0].isupper()
    assert derived["engine_config"].startswith("[engine]")
    request, limit = derived["engine_memory_request"], derived["engine_memory_limit"]
    assert int(request.removesuffix("Gi")) <= int(limit.removesuffix("Gi"))
    assert derived["engine_memory_limit_mib"] == int(limit.removesuffix("Gi")) * 1024
    assert derived["engine_kill_test_rows"] >= 10_000  # a load that lasts long enough to kill
    for key, value in derived["engine_test_environment"].items():
        assert re.fullmatch(r"[A-Z_][A-Z0-9_]*", key) and isinstance(value, str), (key, value)


def test_the_hook_adds_the_chosen_engines_context() -> None:
    rendered = render_with_hook(
        "{{ engine_prefix }} {{ engine_memory_limit }}",
        _copier_phase="render",
        **{**VALID_ANSWERS, "engine": "spark"},
    )
    assert rendered == "Spark 3Gi"


# ---------------------------------------------------------------------------------------
# orchestrator data (extensions/dependencies/orchestrators/<orchestrator>.toml)
# ---------------------------------------------------------------------------------------
OFFERED_ORCHESTRATORS = answer_space.QUESTIONS["orchestrator"].choices


@pytest.mark.parametrize("orchestrator", OFFERED_ORCHESTRATORS)
def test_an_orchestrator_ships_image_files_only_with_an_image_target_of_its_own(
    orchestrator: str,
) -> None:
    derived = context.orchestrator_context(orchestrator)
    if not derived["orchestrator_image_target"]:
        assert derived["orchestrator_image_files"] == []
    else:
        # The target adds the group to the image: a target without packages has no reason.
        assert derived["orchestrator_dependencies"], orchestrator
    for path in derived["orchestrator_image_files"]:
        # Rendered only with a batch side: a streaming project has no orchestrator.
        conditional = (
            f"{{% if batch_side and orchestrator == '{orchestrator}' %}}{path}{{% endif %}}"
        )
        assert (TEMPLATE_ROOT / conditional).is_dir(), path


# ---------------------------------------------------------------------------------------
# destination data (extensions/dependencies/destinations/<destination>.toml)
# ---------------------------------------------------------------------------------------
OFFERED_DESTINATIONS = answer_space.QUESTIONS["destination"].choices
TEMPLATE_PACKAGE = Path(__file__).resolve().parents[1] / "template" / "src" / "{{ package_name }}"
DESTINATIONS_DIR = TEMPLATE_PACKAGE / "destinations"
TEMPLATE_ROOT = TEMPLATE_PACKAGE.parents[1]
# The files every destination consists of, with the same names in each (docs/destinations.md).
DESTINATION_FILES = {
    "package": {"__init__.py", "configuration.py", "table.py", "upkeep.py"},
    "tests": {"destination_support.py"},
    "docs": {"destination.md"},
}


def destination_folder(destination: str) -> Path:
    """The destination's package in the template: a folder only its answer renders."""
    return DESTINATIONS_DIR / f"{{% if destination == '{destination}' %}}{destination}{{% endif %}}"


def test_the_hook_adds_the_chosen_destinations_context() -> None:
    rendered = render_with_hook(
        "{{ destination_dependencies[0] }}",
        _copier_phase="render",
        **{**VALID_ANSWERS, "destination": "local"},
    )
    assert rendered == "deltalake>=1.6,<2"


@pytest.mark.parametrize("destination", OFFERED_DESTINATIONS)
def test_every_destination_is_one_folder_of_the_same_files_with_its_tests_and_docs(
    destination: str,
) -> None:
    folder = destination_folder(destination)
    assert {path.name for path in folder.iterdir()} == DESTINATION_FILES["package"]
    for where in ("tests", "docs"):
        for name in DESTINATION_FILES[where]:
            conditional = f"{{% if destination == '{destination}' %}}{name}{{% endif %}}.jinja"
            assert (TEMPLATE_ROOT / where / conditional).is_file(), (where, name)


def test_no_destination_imports_another() -> None:
    for destination in OFFERED_DESTINATIONS:
        others = set(OFFERED_DESTINATIONS) - {destination}
        for path in destination_folder(destination).glob("*.py"):
            text = path.read_text(encoding="utf-8")
            for other in others:
                assert f"destinations.{other}" not in text and f"..{other}." not in text, path


# ---------------------------------------------------------------------------------------
# source data (extensions/dependencies/sources/<source>.toml)
# ---------------------------------------------------------------------------------------
OFFERED_SOURCES = answer_space.QUESTIONS["source"].choices
SOURCES_DIR = TEMPLATE_PACKAGE / "sources"


CONNECTORS = [
    *(("source", source) for source in OFFERED_SOURCES),
    *(("destination", destination) for destination in OFFERED_DESTINATIONS),
]
CONNECTOR_CONTEXT = {"source": context.source_context, "destination": context.destination_context}


@pytest.mark.parametrize(("kind", "choice"), CONNECTORS)
def test_every_offered_source_and_destination_names_its_module_config_and_egress(
    kind: str, choice: str
) -> None:
    derived = CONNECTOR_CONTEXT[kind](choice)
    if kind == "source":
        module = derived["source_module"]
        conditional = f"{{% if source == '{choice}' %}}{module}.py{{% endif %}}"
        rendered = [SOURCES_DIR / f"{module}.py", SOURCES_DIR / conditional]
        assert any(path.is_file() for path in rendered), f"no {module}.py rendered for {choice}"
    else:  # a destination's code is its folder, named after the answer
        assert "destination_module" not in derived
        assert (destination_folder(choice) / "table.py").is_file()
    assert derived[f"{kind}_config"].startswith(f"[{kind}]")
    assert derived[f"{kind}_deploy_config"].startswith(f"[{kind}]")
    for rule in derived[f"{kind}_egress"]:
        assert set(rule) == {"cidr", "port"} and 0 < int(rule["port"]) < 65536
    # Step Functions: parameters at the template's Parameters indentation, and the container
    # environment pointing the pipeline at them.
    assert derived[f"{kind}_sfn_parameters"].startswith("  ")
    assert f"PIPELINE_{kind.upper()}__" in derived[f"{kind}_sfn_environment"]
    assert derived[f"{kind}_readme_settings"]
    if kind == "destination":  # the README's "Reading the output": the three readers
        reading = derived["destination_readme_reading"]
        assert all(reader in reading for reader in ("pl.read_", "to_pandas()", "duckdb.sql"))
        assert "uv run --with" in reading  # pandas and DuckDB are not the project's own


def test_a_requirement_or_egress_rule_both_connectors_need_is_listed_once() -> None:
    derived = context.connectors_context(
        {
            "source_dependencies": ["boto3>=1.35", "tenacity>=9.2"],
            "destination_dependencies": ["boto3>=1.35", "psycopg[binary]>=3.2"],
            "source_egress": [{"cidr": "0.0.0.0/0", "port": 443}],
            "destination_egress": [{"cidr": "0.0.0.0/0", "port": 443}],
        }
    )
    assert derived["connector_dependencies"] == [
        "boto3>=1.35",
        "tenacity>=9.2",
        "psycopg[binary]>=3.2",
    ]
    assert derived["connector_dev_dependencies"] == []
    assert derived["connector_egress"] == [{"cidr": "0.0.0.0/0", "port": 443}]


def test_the_hook_adds_the_chosen_sources_context() -> None:
    rendered = render_with_hook(
        "{{ source_module }}",
        _copier_phase="render",
        **{**VALID_ANSWERS, "source": "local"},
    )
    assert rendered == "local_files"


def test_memory_limits_must_be_whole_gibibytes() -> None:
    with pytest.raises(ValueError, match="whole GiB"):
        context._mebibytes("1500Mi")


# ---------------------------------------------------------------------------------------
# Messages that quote a hostile answer
# ---------------------------------------------------------------------------------------
@EVERY_CHECK
@pytest.mark.parametrize(
    "value",
    ["bad\x1b[2J", "bad\udcff", "a\u202eb", "bell\x07", "\u2028"],
    ids=["escape-sequence", "lone-surrogate", "bidi-override", "bell", "line-separator"],
)
def test_messages_show_unprintable_answers_escaped_so_printing_them_is_safe(
    check: Callable[[str], str], value: str
) -> None:
    problem = check(value)
    assert problem
    assert problem.isprintable()
    problem.encode("utf-8")  # a lone surrogate would raise here, and in print()
