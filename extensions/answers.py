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
import math
import re
import sys
import tomllib
import unicodedata
from collections import Counter
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import ParamSpec

from jinja2 import Environment
from jinja2.ext import Extension

MAX_LABEL_LENGTH = 63
MAX_FREE_TEXT_LENGTH = 500
EXAMPLE_SLUG = "orders-pipeline"
EXAMPLE_PACKAGE = "orders_pipeline"
EXAMPLE_OWNER = "group:default/data-eng"

_HERE = Path(__file__).resolve().parent

# Names with a length limit that the slug ends up in, with what follows it there (deploy/,
# the Airflow DAG's pod, prefect.yaml, the connectors' defaults, the docs' examples). Label
# values and Job names may have at most 63 characters (a Job's name becomes its pods'
# `job-name` label); namespaces, Services and S3 buckets too; the others are DNS-1123
# subdomains (253). tests/test_answer_limits.py checks that every `<slug>-suffix` in the
# template is listed here or is no limited name.
SLUG_NAME_USES: tuple[tuple[str, str, int], ...] = (
    ("the Kubernetes Job name", "-partition-run", 63),
    ("the app.kubernetes.io/instance label", "-prod", 63),
    ("the app.kubernetes.io/instance label", "-dev", 63),
    ("the Kubernetes namespace and app.kubernetes.io/name label", "", 63),
    ("the Spark driver Service name", "-driver", 63),
    ("the S3 landing bucket name", "-landing", 63),
    ("the Kinesis stream name", "-orders", 128),
    ("the NetworkPolicy name", "-orchestrator-egress", 253),
    ("the NetworkPolicy name", "-default-deny", 253),
    ("the NetworkPolicy name", "-data-egress", 253),
    ("the NetworkPolicy name", "-egress", 253),
    ("the ConfigMap name", "-config", 253),
    ("the Grafana dashboards ConfigMap name", "-dashboards", 253),
    # A streaming project's consumer: a Deployment, or a StatefulSet whose name is a DNS label.
    ("the Kafka consumer's Deployment name", "-consumer", 63),
    # Kubernetes adds `<name>-<10-character hash>` as a label of a StatefulSet's pods.
    ("the Kinesis consumer's StatefulSet name", "", 52),
    ("a Kinesis consumer pod name, before its ordinal (3 digits)", "-", 60),
    # The upkeep of a streaming pipeline: a Step Functions state machine (80 characters).
    ("the upkeep state machine name", "-upkeep", 80),
    # Image repositories (the orchestrator target of the Dockerfile): registries take 255.
    ("the Dagster image repository name", "-dagster", 255),
    ("the Prefect image repository name", "-prefect", 255),
)


def _slug_limit() -> tuple[int, str]:
    """The longest slug every Kubernetes name and label built from it allows, and the use
    that sets it."""
    limit, use = min(
        (maximum - len(suffix), f"{what} '<slug>{suffix}'")
        for what, suffix, maximum in SLUG_NAME_USES
    )
    return limit, use


MAX_SLUG_LENGTH, SLUG_LIMIT_USE = _slug_limit()

# The longest package_name with which every rendered Python line holding it still fits the
# project's 100-column line length, so `ruff check` and `ruff format --check` pass as
# rendered. tests/test_answer_limits.py derives it from the template's lines and fails when
# a template edit changes it: update it then (and docs/questionnaire.md).
MAX_PACKAGE_NAME_LENGTH = 24


def _read_names(path: Path) -> frozenset[str]:
    """One name per line, `#` comments and blank lines skipped."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


# Every top-level name any rendered project's environment can import (generated from the
# installed environments of every variant, transitive dependencies and dev tools included),
# plus the project's own top-level folders and modules. A package with one of these names
# would shadow the real module (`import polars` importing the pipeline itself) or collide
# with the project layout.
IMPORT_NAMES = _read_names(_HERE / "dependencies" / "import_names.txt")
_JINJA_IN_NAME = re.compile(r"\{%.*?%\}|\{\{.*?\}\}")


def _project_layout_names(payload: Path) -> frozenset[str]:
    """Top-level folders and modules of any rendered project (template/, the payload next to
    extensions/, with the Jinja of conditional names removed: `dags`, `flows`, `src`, ...)."""
    names = set()
    for entry in payload.iterdir():
        name = _JINJA_IN_NAME.sub("", entry.name).removesuffix(".jinja")
        if entry.is_dir() or name.endswith(".py"):
            names.add(name.removesuffix(".py"))
    return frozenset(name for name in names if name.isidentifier())


PROJECT_LAYOUT_NAMES = _project_layout_names(_HERE.parent / "template")
RESERVED_PACKAGE_NAMES: frozenset[str] = IMPORT_NAMES | PROJECT_LAYOUT_NAMES
# Compared lowercased: a wheel install (the container image, or `uv pip install .` next to
# Airflow) puts the package beside its dependencies in one site-packages, and on macOS and
# Windows `PIL/` and `pil/` are the same folder.
_RESERVED_LOWER = {name.lower(): name for name in RESERVED_PACKAGE_NAMES}

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


def _credential_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """(kind shown to the user, pattern) from credential_patterns.toml, in file order."""
    data = tomllib.loads((_HERE / "credential_patterns.toml").read_text(encoding="utf-8"))
    return tuple((str(item["kind"]), re.compile(item["regex"])) for item in data["pattern"])


_CREDENTIAL_PATTERNS = _credential_patterns()

# Long runs of base64 or hex: keys and secrets with no recognisable prefix (an AWS secret
# access key, an Azure key, a 64-hex API secret). A 40-character git SHA, a UUID and a
# `sha256:` digest are not secrets, and a base64 run must look random (upper and lower case
# and digits, at least 4.5 bits of entropy per character: prose, paths and CamelCase names
# stay below that).
_HEX_BLOB = re.compile(r"(?<![A-Za-z0-9:])[0-9a-fA-F]{41,}(?![A-Za-z0-9])")
_BASE64_BLOB = re.compile(r"[A-Za-z0-9+/_-]{32,}={0,2}")
_MIN_BLOB_ENTROPY = 4.5
_MIN_HEX_ENTROPY = 3.0

# Characters that render as nothing or as a space-like gap, removed before matching so a
# key split by them is still found: every format character (Cf: U+200B, U+2060, U+FEFF,
# bidi controls, ...) and the invisible letters and marks that are not Cf.
_INVISIBLE = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u3164\uffa0\u2800")


def _matching_form(text: str) -> str:
    """`text` as the credential patterns see it: NFKC-normalised (full-width letters
    become ASCII) with invisible characters and variation selectors removed."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(
        char
        for char in folded
        if unicodedata.category(char) != "Cf"
        and char not in _INVISIBLE
        and not "\ufe00" <= char <= "\ufe0f"
    )


def _entropy(text: str) -> float:
    """Shannon entropy of `text` in bits per character."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _looks_random_hex(blob: str) -> bool:
    """True for a hex run with digits and letters and a random-looking spread."""
    has_both = any(char.isdigit() for char in blob) and any(char.isalpha() for char in blob)
    return has_both and _entropy(blob.lower()) >= _MIN_HEX_ENTROPY


def _looks_random(blob: str) -> bool:
    """True for a base64 run with mixed case and digits and a random-looking spread."""
    body = blob.rstrip("=")
    classes = (str.isupper, str.islower, str.isdigit)
    has_each_class = all(any(test(char) for char in body) for test in classes)
    return has_each_class and _entropy(body) >= _MIN_BLOB_ENTROPY


# The slug derived from a name with no ASCII letter or digit to keep ("中文", "🚀").
FALLBACK_SLUG = "pipeline"


def slugify(text: str) -> str:
    """Turn a human name into a DNS-1123 label: "Orders Pipeline" -> "orders-pipeline".

    Accents are folded to ASCII, everything is lowercased, each run of other characters
    becomes one '-', and the result is cut to MAX_SLUG_LENGTH characters without a trailing
    '-'. A name that leaves nothing gives "pipeline": a derived default must be valid, as
    copier validates it with a traceback, not a message, when it is not.
    """
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:MAX_SLUG_LENGTH].rstrip("-") or FALLBACK_SLUG


def package_from_slug(slug: str) -> str:
    """Derive the Python package name from a slug: "orders-pipeline" -> "orders_pipeline".

    A slug that does not make a usable package name as it is (too long, starting with a
    digit, a keyword or a module the project imports) gives the closest usable one, so the
    derived default is always valid.
    """
    name = str(slug).replace("-", "_")
    if package_name_problem(name):
        return _package_suggestion(name)
    return name


def credential_kind(text: str) -> str:
    """Name the kind of secret `text` appears to contain, or return "" when it has none."""
    plain = _matching_form(str(text))
    for kind, pattern in _CREDENTIAL_PATTERNS:
        if pattern.search(plain):
            return kind
    if any(_looks_random_hex(match.group()) for match in _HEX_BLOB.finditer(plain)):
        return "a long hexadecimal key"
    if any(_looks_random(match.group()) for match in _BASE64_BLOB.finditer(plain)):
        return "a long random-looking (base64) key"
    return ""


_Params = ParamSpec("_Params")


def _printable_message(check: Callable[_Params, str]) -> Callable[_Params, str]:
    """Make `check`'s message safe to print: the answers it quotes may hold terminal escape
    sequences, bidi controls or lone surrogates (which stop Python's print with a
    UnicodeEncodeError). Each character that is not printable is shown as \\uXXXX."""

    @wraps(check)
    def checked(*args: _Params.args, **kwargs: _Params.kwargs) -> str:
        message = check(*args, **kwargs)
        return "".join(
            char if char.isprintable() and char not in _BIDI_CONTROLS else f"\\u{ord(char):04x}"
            for char in message
        )

    return checked


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


@_printable_message
def slug_problem(value: str) -> str:
    """Check that project_slug is a DNS-1123 label short enough for every Kubernetes name
    and label value built from it (MAX_SLUG_LENGTH)."""
    if problem := credential_problem(value, "project_slug"):
        return problem
    text = str(value)
    if len(text) > MAX_SLUG_LENGTH:
        shorter = slugify(text)[:MAX_SLUG_LENGTH].rstrip("-") or EXAMPLE_SLUG
        return (
            f"project_slug '{text}' is {len(text)} characters long: at most "
            f"{MAX_SLUG_LENGTH}, so that {SLUG_LIMIT_USE} stays within its "
            f"{MAX_LABEL_LENGTH} characters (e.g. '{shorter}')"
        )
    if _DNS_LABEL.fullmatch(text):
        return ""
    suggestion = slugify(text)[:MAX_SLUG_LENGTH].rstrip("-") or EXAMPLE_SLUG
    return (
        f"project_slug '{text}' is not a DNS-1123 label: use lowercase letters, digits and "
        f"'-', start and end with a letter or digit, at most {MAX_SLUG_LENGTH} characters "
        f"(e.g. '{suggestion}')"
    )


def _reserved_reason(name: str) -> str:
    """Say why a syntactically valid package name is still unusable, or return ""."""
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return "is a Python keyword"
    if name in sys.stdlib_module_names:
        return "is a Python standard library module and would shadow it"
    if name in PROJECT_LAYOUT_NAMES:
        return "is a top-level folder or module of the generated project"
    if name in RESERVED_PACKAGE_NAMES:
        return "is a module the generated project's environment can import, and would shadow it"
    if reserved := _RESERVED_LOWER.get(name.lower()):
        return (
            f"differs only by case from the module '{reserved}' the generated project's "
            "environment can import (one folder on case-insensitive file systems)"
        )
    return ""


_PACKAGE_SUFFIX = "_pipeline"


def _package_suggestion(value: str) -> str:
    """Propose a usable package name close to `value`, at most MAX_PACKAGE_NAME_LENGTH long."""
    candidate = re.sub(r"[^a-z0-9_]+", "_", value.lower()).strip("_")
    if not candidate:
        return EXAMPLE_PACKAGE
    if candidate[0].isdigit():
        candidate = f"pipeline_{candidate}"
    candidate = candidate[:MAX_PACKAGE_NAME_LENGTH].rstrip("_")
    if _reserved_reason(candidate):
        room = MAX_PACKAGE_NAME_LENGTH - len(_PACKAGE_SUFFIX)
        candidate = candidate[:room].rstrip("_") + _PACKAGE_SUFFIX
    return candidate


@_printable_message
def package_name_problem(value: str) -> str:
    """Check that package_name is an importable name that shadows nothing it needs."""
    if problem := credential_problem(value, "package_name"):
        return problem
    text = str(value)
    if len(text) > MAX_PACKAGE_NAME_LENGTH:
        return (
            f"package_name '{text}' is {len(text)} characters long: at most "
            f"{MAX_PACKAGE_NAME_LENGTH}, so that the generated code's import lines fit its "
            "100-column line length; pass a shorter one with --data package_name=... "
            "(the slug may stay longer)"
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


@_printable_message
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


# Characters no one-line name or summary may hold: control characters (C0, DEL, C1: TOML
# and YAML cannot carry them raw, and a newline ends packaging's one-line Summary), line and
# paragraph separators, lone surrogates (an invalid UTF-8 byte in argv arrives as one, and no
# file encoding can write it), and the bidirectional embedding, override and isolate
# controls, which make a text display in another order than it reads (CVE-2021-42574).
_REFUSED_CATEGORIES = {
    "Cc": "a control character",
    "Cs": "a lone surrogate",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _refused_character(text: str) -> tuple[int, str, str]:
    """The first character free text may not hold: (1-based position, U+XXXX and its
    name, what it is), or (0, "", "") when there is none."""
    for index, char in enumerate(text):
        category = unicodedata.category(char)
        what = _REFUSED_CATEGORIES.get(category)
        if what is None and char in _BIDI_CONTROLS:
            what = "a bidirectional text control"
        if what is None:
            continue
        name = unicodedata.name(char, "")
        label = f"U+{ord(char):04X}" + (f" {name}" if name else "")
        return index + 1, label, what
    return 0, "", ""


@_printable_message
def free_text_problem(value: str, field: str) -> str:
    """Check a free-text answer: present, one line of at most 500 characters, and only
    characters every file it is written to (TOML, YAML, JSON, Markdown) can carry."""
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
    position, label, what = _refused_character(text)
    if position:
        return (
            f"{field} contains {what} ({label}) at position {position}: write it on one "
            "line with printable characters only"
        )
    return ""


# Escapes every format the free text is written to understands the same way: TOML basic
# strings, YAML double-quoted scalars and JSON strings all read `\"`, `\\`, `\b`, `\t`,
# `\n`, `\f`, `\r` and `\uXXXX`. `\uXXXX` is used for every other character one of them
# cannot hold raw (C0, DEL and C1 controls, U+2028/U+2029 that YAML reads as line breaks,
# the BOM and U+FFFE/U+FFFF that YAML does not print). Characters beyond the BMP stay raw:
# a surrogate-pair escape (what `tojson` writes) is invalid in TOML.
_SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _escaped(char: str) -> str:
    """One character as it is written inside a double-quoted string."""
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        raise ValueError(f"U+{code:04X} is a lone surrogate: no file encoding can hold it")
    needs_escape = (
        code < 0x20 or 0x7F <= code <= 0x9F or code in (0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF)
    )
    return f"\\u{code:04X}" if needs_escape else char


def quoted(value: object) -> str:
    """`value` as a double-quoted string that TOML, YAML and JSON all read back exactly."""
    return '"' + "".join(_escaped(char) for char in str(value)) + '"'


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


@_printable_message
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
    "quoted": quoted,
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
