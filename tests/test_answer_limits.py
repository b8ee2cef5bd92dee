"""Length limits of the identifier answers, derived from where the names end up.

`MAX_PACKAGE_NAME_LENGTH` is the longest package name with which every rendered Python line
holding it fits the project's 100 columns; `MAX_SLUG_LENGTH` the longest slug every limited
name built from it allows. The fast tests re-derive both from the template's text; the slow
ones render at the limits and check the project lints and its Kubernetes names are valid.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import answer_space
import pytest
import yaml
from extension_modules import load_extension
from template_fixtures import REPO_ROOT, render

answers = load_extension("answers")

TEMPLATE = REPO_ROOT / "template"
LINE_LENGTH = 100
PACKAGE = "{{ package_name }}"
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")

# `<slug>-suffix` texts in the template that are no length-limited name: the Prefect backfill
# flow's name and the artifact key `<slug>-<partition>` (free-length strings).
UNLIMITED_SLUG_SUFFIXES = {"-backfill", "-"}


_JINJA_IN_NAME = re.compile(r"\{%.*?%\}|\{\{.*?\}\}")


def rendered_name(path: Path) -> str:
    """A template file's name without its conditional Jinja: "destination.md.jinja"."""
    return _JINJA_IN_NAME.sub("", path.name)


def python_templates() -> list[Path]:
    """Template files rendered into Python modules whose contents are rendered."""
    return [
        p for p in TEMPLATE.rglob("*") if p.is_file() and rendered_name(p).endswith(".py.jinja")
    ]


def python_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, line) of the Python in `path`: every line of a module, the lines of
    ```python blocks in Markdown (`ruff format` formats those too)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if not rendered_name(path).endswith(".md.jinja"):
        return list(enumerate(lines, 1))
    found, inside = [], False
    for number, line in enumerate(lines, 1):
        if line.startswith("```"):
            inside = line.strip() in ("```python", "```py")
        elif inside:
            found.append((number, line))
    return found


def templates_with_python() -> list[Path]:
    """Python modules and Markdown files of the template whose contents are rendered."""
    markdown = [
        p for p in TEMPLATE.rglob("*") if p.is_file() and rendered_name(p).endswith(".md.jinja")
    ]
    return python_templates() + markdown


# Render variables derived from one answer (extensions/context.py), and that answer.
DERIVED_FROM = {"stream_unit": "stream_source"}


def longest_value(key: str) -> str:
    """The longest value answer `key` can take (the other answers in a line)."""
    if key == "project_slug":
        return "s" * answers.MAX_SLUG_LENGTH
    if key == "package_name":
        return "p" * answers.MAX_PACKAGE_NAME_LENGTH
    return max(answer_space.QUESTIONS[DERIVED_FROM.get(key, key)].choices, key=len)


def rendered_width(line: str) -> int:
    """Columns of `line` once rendered with every other answer at its longest value."""
    return len(_PLACEHOLDER.sub(lambda match: longest_value(match.group(1)), line))


def name_limit(key: str) -> tuple[int, str]:
    """The longest value of answer `key` every rendered Python line holding it allows, and
    that line."""
    placeholder = re.compile(r"\{\{\s*" + key + r"\s*\}\}")
    best = (LINE_LENGTH, "")
    for path in templates_with_python():
        for number, line in python_lines(path):
            count = len(placeholder.findall(line))
            if not count:
                continue
            limit = (LINE_LENGTH - rendered_width(placeholder.sub("", line))) // count
            if limit < best[0]:
                best = (limit, f"{path.relative_to(TEMPLATE)}:{number}: {line.strip()}")
    return best


def test_the_package_name_limit_is_what_the_longest_rendered_line_allows() -> None:
    limit, line = name_limit("package_name")
    assert limit == answers.MAX_PACKAGE_NAME_LENGTH, (
        f"the longest line holding the package name allows {limit} characters: {line}. "
        "Set MAX_PACKAGE_NAME_LENGTH in extensions/answers.py (and docs/questionnaire.md)."
    )


def test_every_python_line_holding_the_slug_fits_at_the_slug_limit() -> None:
    limit, line = name_limit("project_slug")
    assert limit >= answers.MAX_SLUG_LENGTH, f"only {limit} characters fit: {line}"


def test_no_wrapped_statement_holds_the_package_name() -> None:
    # `ruff format` joins or splits a wrapped statement by its length, so one holding the
    # package name is formatted for one length only (found by the property test). Imports
    # are safe: their magic trailing comma keeps them split whatever the length.
    wrapped = [
        f"{path.relative_to(TEMPLATE)}:{number}"
        for path in templates_with_python()
        for number, line in python_lines(path)
        if PACKAGE in line
        and line.rstrip().endswith(("(", "[", "{"))
        and not line.lstrip().startswith(("from ", "import "))
    ]
    assert wrapped == []


def slug_suffixes() -> set[str]:
    """Every `-suffix` that follows the slug in the template, its Python code and the
    connectors' data files."""
    patterns = (
        re.compile(r"\{\{\s*project_slug\s*\}\}(-[a-z-]*)?"),
        re.compile(r"\{slug\}(-[a-z-]*)?"),
        re.compile(r"\{project_slug\}(-[a-z-]*)?"),
    )
    files = [p for p in TEMPLATE.rglob("*") if p.is_file()]
    files += list((REPO_ROOT / "extensions" / "dependencies").rglob("*.toml"))
    found: set[str] = set()
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for pattern in patterns:
            found |= {match.group(1) or "" for match in pattern.finditer(text)}
    return found


def test_every_limited_name_built_from_the_slug_is_in_the_limit_table() -> None:
    listed = {suffix for _, suffix, _ in answers.SLUG_NAME_USES}
    assert slug_suffixes() - UNLIMITED_SLUG_SUFFIXES <= listed
    assert (
        min(limit - len(suffix) for _, suffix, limit in answers.SLUG_NAME_USES)
        == answers.MAX_SLUG_LENGTH
    )


# ---------------------------------------------------------------------------------------
# Rendered at the limits
# ---------------------------------------------------------------------------------------
LONGEST_SLUG = "s" + "-long" * ((answers.MAX_SLUG_LENGTH - 1) // 5)
LONGEST_SLUG += "x" * (answers.MAX_SLUG_LENGTH - len(LONGEST_SLUG))
# Sorting first and last among imports matters to isort as much as the length does.
PACKAGES_AT_THE_LIMIT = (
    "a" * answers.MAX_PACKAGE_NAME_LENGTH,
    "z" * answers.MAX_PACKAGE_NAME_LENGTH,
)
LIMIT_RENDERS = [
    {"orchestrator": orchestrator, "package_name": package, "project_slug": LONGEST_SLUG}
    for orchestrator, package in zip(
        answer_space.QUESTIONS["orchestrator"].choices,
        [*PACKAGES_AT_THE_LIMIT, *PACKAGES_AT_THE_LIMIT],
        strict=True,
    )
] + [
    # A streaming project (no orchestrator): its consumer's files and manifests.
    {"pipeline_type": "streaming", "package_name": package, "project_slug": LONGEST_SLUG}
    for package in PACKAGES_AT_THE_LIMIT
]


def test_one_past_each_limit_is_refused_naming_the_limit() -> None:
    package_limit = answers.MAX_PACKAGE_NAME_LENGTH
    assert f"at most {package_limit}," in answers.package_name_problem("q" * (package_limit + 1))
    slug_limit = answers.MAX_SLUG_LENGTH
    assert f"at most {slug_limit}," in answers.slug_problem(LONGEST_SLUG + "y")


@pytest.fixture(scope="module")
def projects_at_the_limits(
    template_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> list[Path]:
    """One project per orchestrator, and streaming ones, with the longest slug and package
    names, rendered."""
    root = tmp_path_factory.mktemp("limits")
    assert len(LONGEST_SLUG) == answers.MAX_SLUG_LENGTH
    return [
        render(template_repo, root / f"project-{index}", data)
        for index, data in enumerate(LIMIT_RENDERS)
    ]


@pytest.mark.slow
@pytest.mark.cost(60)
def test_projects_at_the_length_limits_lint_as_rendered(projects_at_the_limits: list[Path]) -> None:
    ruff = str(REPO_ROOT / ".venv" / "bin" / "ruff")
    ruff = ruff if Path(ruff).exists() else "ruff"
    for arguments in (["check", "--no-cache"], ["format", "--check", "--no-cache"]):
        result = subprocess.run(
            [ruff, *arguments, *map(str, projects_at_the_limits)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def kubernetes_documents(project: Path) -> list[dict[str, Any]]:
    """Every YAML document under deploy/ (manifests and kustomizations)."""
    documents: list[dict[str, Any]] = []
    for path in sorted((project / "deploy").rglob("*.yaml")):
        documents += [doc for doc in yaml.safe_load_all(path.read_text()) if isinstance(doc, dict)]
    return documents


def label_values(node: Any) -> list[str]:
    """Every value of every `labels`, `matchLabels` or `commonLabels` mapping in `node`."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("labels", "matchLabels", "commonLabels") and isinstance(value, dict):
                found += [str(item) for item in value.values()]
            found += label_values(value)
    elif isinstance(node, list):
        for item in node:
            found += label_values(item)
    return found


_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
# Kinds whose names must be DNS-1123 labels of 63 characters (a Job's name is its pods' label).
_LABEL_NAMED_KINDS = {"Namespace", "Job", "Service", "CronJob"}


@pytest.mark.slow
@pytest.mark.cost(60)
def test_kubernetes_names_and_labels_are_valid_at_the_slug_limit(
    projects_at_the_limits: list[Path],
) -> None:
    longest = 0
    for project in projects_at_the_limits:
        for document in kubernetes_documents(project):
            name = str(document.get("metadata", {}).get("name", ""))
            if name and document.get("kind") in _LABEL_NAMED_KINDS:
                assert len(name) <= 63 and _DNS_LABEL.fullmatch(name), (document["kind"], name)
                longest = max(longest, len(name))
            elif name:
                assert len(name) <= 253, (document.get("kind"), name)
            for value in label_values(document):
                assert len(value) <= 63 and _LABEL_VALUE.fullmatch(value), value
    # The limit is tight: the Job `<slug>-partition-run` is exactly 63 characters long.
    assert longest == 63
