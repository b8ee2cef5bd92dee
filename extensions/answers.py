"""Jinja filters that derive and validate the questionnaire's answers.

copier.yml uses them as defaults (`slugify`, `package_from_slug`) and as question
validators (`*_problem`). A validator filter returns "" for a valid answer, otherwise one
message that names the question key, says what is wrong and how to fix it. The same
functions back the render-time check in `extensions/context.py`, because Copier does not
validate default values under `copier copy --defaults`.

Everything here is a pure function of its arguments and uses only the standard library:
extensions must run in any Copier environment with nothing but `copier` and
`copier-template-extensions` installed.
"""

from __future__ import annotations

import keyword
import re
import sys
import unicodedata
from collections.abc import Callable

from jinja2 import Environment
from jinja2.ext import Extension

MAX_LABEL_LENGTH = 63
MAX_FREE_TEXT_LENGTH = 500
EXAMPLE_SLUG = "orders-pipeline"
EXAMPLE_PACKAGE = "orders_pipeline"
EXAMPLE_OWNER = "group:default/data-eng"

# Top-level import names the rendered project depends on, imports, or lays out as folders
# (src/, tests/), plus the engines and orchestrators it can be rendered for. A package with
# one of these names would shadow the real library (`import polars` would import the
# pipeline itself) or collide with the project layout, so package_name may not take them.
RESERVED_PACKAGE_NAMES: frozenset[str] = frozenset(
    {
        "airflow",
        "boto3",
        "botocore",
        "click",
        "confluent_kafka",
        "copier",
        "dagster",
        "dask",
        "google",
        "grpc",
        "jinja2",
        "kafka",
        "mypy",
        "numpy",
        "opentelemetry",
        "pandas",
        "polars",
        "prefect",
        "psycopg",
        "pyarrow",
        "pydantic",
        "pydantic_settings",
        "pyspark",
        "pytest",
        "requests",
        "rich",
        "ruff",
        "src",
        "tests",
        "typer",
        "typing_extensions",
        "urllib3",
        "yaml",
    }
)

SCHEDULE_PRESETS: tuple[str, ...] = (
    "@hourly",
    "@daily",
    "@weekly",
    "@monthly",
    "@yearly",
    "@annually",
    "@midnight",
)

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_PACKAGE_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_BACKSTAGE_NAME = re.compile(r"[a-zA-Z0-9]+([-_.][a-zA-Z0-9]+)*")
_OWNER_KINDS = ("group", "user")
_FREE_TEXT_EXAMPLES = {
    "project_name": "Orders Pipeline",
    "description": "Loads orders into an analytics-ready Parquet dataset.",
}

# (kind shown to the user, pattern). Checked in order; the first match names the kind.
# Patterns ask for enough characters after each prefix that prose mentioning a prefix
# ("rotate the ghp_ tokens") passes, while real tokens (and shortened test tokens) do not.
# Only `sk-` needs a left boundary, so that words like "risk-..." are not mistaken for keys.
_CREDENTIAL_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an AWS access key id", re.compile(r"(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}")),
    ("a private key block", re.compile(r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----")),
    (
        "a URL with user:password@ in it",
        re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:]*:[^\s/?#@]+@"),
    ),
    ("a GitHub token", re.compile(r"(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,})")),
    ("a Slack token", re.compile(r"xox[abprs]-[A-Za-z0-9-]{10,}")),
    ("a Stripe secret key", re.compile(r"[sr]k_live_[A-Za-z0-9]{10,}")),
    ("an OpenAI-style API key", re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{20,}")),
    ("a Google API key", re.compile(r"AIza[0-9A-Za-z_-]{35}")),
    ("a GitLab token", re.compile(r"glpat-[A-Za-z0-9_-]{20,}")),
    ("an npm token", re.compile(r"npm_[A-Za-z0-9]{36}")),
    ("a JSON Web Token", re.compile(r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.")),
)


def slugify(text: str) -> str:
    """Turn a human name into a DNS-1123 label: "Orders Pipeline" -> "orders-pipeline".

    Accents are folded to ASCII, everything is lowercased, each run of other characters
    becomes one '-', and the result is cut to 63 characters without a trailing '-'.
    """
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:MAX_LABEL_LENGTH].rstrip("-")


def package_from_slug(slug: str) -> str:
    """Derive the Python package name from a slug: "orders-pipeline" -> "orders_pipeline"."""
    return str(slug).replace("-", "_")


def credential_kind(text: str) -> str:
    """Name the kind of secret `text` appears to contain, or return "" when it has none."""
    for kind, pattern in _CREDENTIAL_PATTERNS:
        if pattern.search(text):
            return kind
    return ""


def credential_problem(value: str, field: str) -> str:
    """Reject an answer that looks like it holds a secret value; never echo the value."""
    kind = credential_kind(str(value))
    if not kind:
        return ""
    return (
        f"{field} looks like it contains a credential ({kind}): answers must hold "
        "references (secret names, ARNs), never secret values. Remove the secret from the "
        "answer, rotate it if it was shared, and keep it in your secret manager."
    )


def slug_problem(value: str) -> str:
    """Check that project_slug is a DNS-1123 label of at most 63 characters."""
    if problem := credential_problem(value, "project_slug"):
        return problem
    text = str(value)
    if _DNS_LABEL.fullmatch(text) and len(text) <= MAX_LABEL_LENGTH:
        return ""
    suggestion = slugify(text) or EXAMPLE_SLUG
    if len(text) > MAX_LABEL_LENGTH:
        what = f"is {len(text)} characters long"
    else:
        what = "is not a DNS-1123 label"
    return (
        f"project_slug '{text}' {what}: use lowercase letters, digits and '-', start and "
        f"end with a letter or digit, at most {MAX_LABEL_LENGTH} characters "
        f"(e.g. '{suggestion}')"
    )


def _reserved_reason(name: str) -> str:
    """Say why a syntactically valid package name is still unusable, or return ""."""
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return "is a Python keyword"
    if name in sys.stdlib_module_names:
        return "is a Python standard library module and would shadow it"
    if name in RESERVED_PACKAGE_NAMES:
        return "is a package the generated project depends on or uses, and would shadow it"
    return ""


def _package_suggestion(value: str) -> str:
    """Propose a usable package name close to `value`."""
    candidate = re.sub(r"[^a-z0-9_]+", "_", value.lower()).strip("_")
    if not candidate:
        return EXAMPLE_PACKAGE
    if candidate[0].isdigit():
        candidate = f"pipeline_{candidate}"
    if _reserved_reason(candidate):
        candidate = f"{candidate}_pipeline"
    return candidate


# Longer names push import lines of the rendered code past the 100-column line length, so
# the rendered project would not pass `ruff format --check` as rendered.
MAX_PACKAGE_NAME_LENGTH = 50


def package_name_problem(value: str) -> str:
    """Check that package_name is an importable name that shadows nothing it needs."""
    if problem := credential_problem(value, "package_name"):
        return problem
    text = str(value)
    if len(text) > MAX_PACKAGE_NAME_LENGTH:
        return (
            f"package_name '{text}' is longer than {MAX_PACKAGE_NAME_LENGTH} characters: "
            "pass a shorter one with --data package_name=... (the slug may stay long)"
        )
    if not _PACKAGE_NAME.fullmatch(text):
        return (
            f"package_name '{text}' is not a valid Python package name: use lowercase "
            "letters, digits and '_', starting with a letter or '_' "
            f"(e.g. '{_package_suggestion(text)}')"
        )
    if reason := _reserved_reason(text):
        return (
            f"package_name '{text}' {reason}: choose another name "
            f"(e.g. '{_package_suggestion(text)}')"
        )
    return ""


def _backstage_name_problem(part: str, what: str) -> str:
    """Check one namespace or name of an entity ref against Backstage's rules."""
    if not part:
        return f"the {what} is empty"
    if len(part) > MAX_LABEL_LENGTH:
        return f"the {what} '{part}' is longer than {MAX_LABEL_LENGTH} characters"
    if not _BACKSTAGE_NAME.fullmatch(part):
        return (
            f"the {what} '{part}' must be letters and digits, optionally separated by "
            "single '-', '_' or '.'"
        )
    return ""


def owner_problem(value: str) -> str:
    """Check that owner is a Backstage entity ref `[kind:][namespace/]name` of a group or user."""
    if problem := credential_problem(value, "owner"):
        return problem
    text = str(value)
    kind, has_kind, rest = text.partition(":")
    if not has_kind:
        kind, rest = "", text
    namespace, has_namespace, name = rest.rpartition("/")
    problems: list[str] = []
    if has_kind and kind.lower() not in _OWNER_KINDS:
        problems.append(f"the kind '{kind}' is not an owner kind (use 'group' or 'user')")
    if has_namespace and (problem := _backstage_name_problem(namespace, "namespace")):
        problems.append(problem)
    if problem := _backstage_name_problem(name, "name"):
        problems.append(problem)
    if not problems:
        return ""
    return (
        f"owner '{text}' is not a Backstage owner entity ref: {'; '.join(problems)}. "
        f"Use [group:|user:][namespace/]name (e.g. '{EXAMPLE_OWNER}')"
    )


def free_text_problem(value: str, field: str) -> str:
    """Check a free-text answer: present, at most 500 characters, one line for project_name."""
    if problem := credential_problem(value, field):
        return problem
    text = str(value)
    if not text.strip():
        example = _FREE_TEXT_EXAMPLES.get(field, "a short sentence")
        return f"{field} is empty: write a short text (e.g. '{example}')"
    if len(text) > MAX_FREE_TEXT_LENGTH:
        return (
            f"{field} is {len(text)} characters long: shorten it to at most "
            f"{MAX_FREE_TEXT_LENGTH} characters"
        )
    if field == "project_name" and ("\n" in text or "\r" in text):
        return f"{field} contains a line break: write the name on one line"
    return ""


# Cron is checked by hand, not with croniter: extensions must run in any Copier environment
# that has only copier and copier-template-extensions installed.
_MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


class _CronField:
    """Name, allowed range and optional symbolic names of one cron field."""

    def __init__(self, name: str, low: int, high: int, names: tuple[str, ...] = ()) -> None:
        self.name = name
        self.low = low
        self.high = high
        # Month names count from 1 (JAN=1), weekday names from 0 (SUN=0).
        self.names = {symbol: index + low for index, symbol in enumerate(names)}

    def hint(self) -> str:
        """Describe the allowed values, e.g. "0-23" or "1-12 or JAN-DEC"."""
        allowed = f"{self.low}-{self.high}"
        if self.names:
            symbols = list(self.names)
            allowed += f" or {symbols[0]}-{symbols[-1]}"
        return allowed


_CRON_FIELDS = (
    _CronField("minute", 0, 59),
    _CronField("hour", 0, 23),
    _CronField("day-of-month", 1, 31),
    _CronField("month", 1, 12, _MONTH_NAMES),
    _CronField("day-of-week", 0, 7, _WEEKDAY_NAMES),
)


def _cron_value(token: str, field: _CronField) -> int | None:
    """Parse one value of a field (a number or a name); None when it is neither."""
    if token.isdigit() and token.isascii():
        return int(token)
    return field.names.get(token.upper())


def _cron_item_problem(item: str, field: _CronField) -> tuple[str, str]:
    """Check one comma-separated item of a field: `*`, `a`, `a-b`, `*/n` or `a-b/n`.

    Returns ("", "") when valid, else the offending text and what is wrong with it.
    """
    base, has_step, step = item.partition("/")
    if has_step:
        if not (step.isdigit() and step.isascii() and int(step) >= 1):
            return item, "has a step that is not a whole number of at least 1"
        if base != "*" and "-" not in base:
            return (
                item,
                f"puts a step after a single value: write '*/{step}' or a range "
                f"like '{base}-{field.high}/{step}'",
            )
    if base == "*":
        return "", ""
    start_token, is_range, end_token = base.partition("-")
    bounds: list[int] = []
    for token in (start_token, end_token) if is_range else (start_token,):
        number = _cron_value(token, field)
        if number is None:
            return token, f"is not a value: use {field.hint()}, '*', ',', '-' or '/'"
        if not field.low <= number <= field.high:
            return token, f"is out of range {field.hint()}"
        bounds.append(number)
    if is_range and bounds[0] > bounds[1]:
        return base, "is a range that runs backwards: write the smaller value first"
    return "", ""


def schedule_problem(value: str) -> str:
    """Check that schedule is a preset such as @daily or a valid 5-field cron expression."""
    if problem := credential_problem(value, "schedule"):
        return problem
    text = str(value)
    usage = (
        f"use a preset ({', '.join(SCHEDULE_PRESETS)}) or 5 cron fields "
        "'minute hour day-of-month month day-of-week' (e.g. '0 3 * * *')"
    )
    if text in SCHEDULE_PRESETS:
        return ""
    if text.startswith("@"):
        return f"schedule '{text}' is not a known preset: {usage}"
    if text != text.strip() or any(char in text for char in "\t\n\r\v\f"):
        return f"schedule '{text}' must be one line without leading or trailing spaces: {usage}"
    fields = text.split()
    if len(fields) != len(_CRON_FIELDS):
        return f"schedule '{text}' has {len(fields)} fields, cron needs exactly 5: {usage}"
    for field_text, field in zip(fields, _CRON_FIELDS, strict=True):
        for item in field_text.split(","):
            bad, what = _cron_item_problem(item, field)
            if not what:
                continue
            subject = f"schedule '{text}': {field.name} field '{field_text}'"
            if bad == field_text:
                return f"{subject} {what}"
            return f"{subject}: '{bad}' {what}"
    return ""


FILTERS: dict[str, Callable[..., str]] = {
    "slugify": slugify,
    "package_from_slug": package_from_slug,
    "slug_problem": slug_problem,
    "package_name_problem": package_name_problem,
    "owner_problem": owner_problem,
    "free_text_problem": free_text_problem,
    "schedule_problem": schedule_problem,
}


class AnswerFilters(Extension):
    """Register the answer filters with Copier's Jinja environment."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters.update(FILTERS)
