"""Free-text answers (project_name, description) survive every format they are written to.

The `quoted` filter writes one double-quoted string that TOML, YAML and JSON all read back
exactly; the validator refuses what no one-line name or summary can hold, naming the field,
the character and its position. The slow test renders projects with hostile text and parses
every TOML, YAML and JSON file back.
"""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from extension_modules import load_extension
from hypothesis import given, settings
from hypothesis import strategies as st
from template_fixtures import REPO_ROOT, render

answers = load_extension("answers")

# Accepted free text that once broke, or could break, a format it lands in.
HOSTILE_TEXTS = [
    "Orders 🚀",
    "Orders 👩\u200d👩\u200d👧 family pipeline",
    'Say "hello" \\ and \\u0041 \\n',
    "{{ project_slug }} and {% raw %} {# not a comment #}",
    "# not a heading: and not: a mapping",
    "- leading dash",
    "* star",
    "& anchor",
    "! tag",
    "? key",
    "| literal > folded",
    "'single' and `backticks` and [brackets] {braces}",
    "طلبات العملاء اليومية",
    "e\u0301te\u0301 combining marks",
    "Ωmega\u00a0non-breaking\u2003em space",
    "null",
    "true",
    "0x1F",
    "1e3",
    "~",
    "@daily",
    "%TAG",
    "a" * 500,
    "trailing spaces   ",
    "   leading spaces",
    "tab-free but ☃ and \U0001d518\U0001d52b and \U0010fffd private use",
    "\u200f right-to-left mark",
]


def parse_toml(quoted: str) -> Any:
    return tomllib.loads(f"value = {quoted}\n")["value"]


def parse_yaml(quoted: str) -> Any:
    return yaml.safe_load(f"value: {quoted}\n")["value"]


def parse_json(quoted: str) -> Any:
    return json.loads(f'{{"value": {quoted}}}')["value"]


PARSERS = [parse_toml, parse_yaml, parse_json]


@pytest.mark.parametrize("parse", PARSERS, ids=["toml", "yaml", "json"])
@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_quoted_text_reads_back_exactly_in_every_format(text: str, parse: Any) -> None:
    assert parse(answers.quoted(text)) == text


# Any text a format can hold: every code point but lone surrogates.
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=80)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(any_text)
def test_quoted_reads_back_exactly_whatever_the_text(text: str) -> None:
    quoted = answers.quoted(text)
    assert [parse(quoted) for parse in PARSERS] == [text, text, text]


def test_quoted_keeps_characters_beyond_the_bmp_raw() -> None:
    # jinja's tojson writes "\ud83d\ude80", which TOML refuses.
    assert answers.quoted("Orders 🚀") == '"Orders 🚀"'


def test_quoted_refuses_a_lone_surrogate() -> None:
    with pytest.raises(ValueError, match="U\\+D800 is a lone surrogate"):
        answers.quoted("bad \ud800")


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
@pytest.mark.parametrize("field", ["project_name", "description"])
def test_hostile_but_printable_text_is_accepted(text: str, field: str) -> None:
    assert answers.free_text_problem(text, field) == ""


@pytest.mark.parametrize(
    ("text", "code", "what", "position"),
    [
        ("Orders\nPipeline", "U+000A", "a control character", 7),
        ("Orders\r\n", "U+000D", "a control character", 7),
        ("Tab\there", "U+0009", "a control character", 4),
        ("Nul\x00", "U+0000", "a control character", 4),
        ("Esc\x1b[31m red", "U+001B", "a control character", 4),
        ("Del\x7f", "U+007F", "a control character", 4),
        ("C1 \x85 next line", "U+0085", "a control character", 4),
        ("Line\u2028separator", "U+2028 LINE SEPARATOR", "a line separator", 5),
        ("Para\u2029separator", "U+2029 PARAGRAPH SEPARATOR", "a paragraph separator", 5),
        ("bad byte \udcff", "U+DCFF", "a lone surrogate", 10),
        ("admin\u202e\u2066 txt.exe", "U+202E RIGHT-TO-LEFT OVERRIDE", "a bidirectional", 6),
        ("isolate \u2067x\u2069", "U+2067 RIGHT-TO-LEFT ISOLATE", "a bidirectional", 9),
    ],
)
@pytest.mark.parametrize("field", ["project_name", "description"])
def test_unprintable_characters_are_refused_naming_field_character_and_position(
    text: str, code: str, what: str, position: int, field: str
) -> None:
    problem = answers.free_text_problem(text, field)
    assert problem.startswith(f"{field} contains {what}")
    assert f"({code}" in problem
    assert f"at position {position}:" in problem


def test_a_newline_is_refused_in_the_description_because_the_summary_is_one_line() -> None:
    # Core metadata's Summary is one line: packaging refuses a newline in it.
    from packaging.metadata import Metadata  # copier's own dependency

    with pytest.raises(ExceptionGroup, match="invalid metadata") as refused:
        Metadata.from_raw(
            {"metadata_version": "2.4", "name": "x", "version": "1", "summary": "a\nb"}
        )
    assert "'summary' must be a single line" in str(refused.value.exceptions[0])
    assert "U+000A" in answers.free_text_problem("a\nb", "description")


# ---------------------------------------------------------------------------------------
# Rendered projects
# ---------------------------------------------------------------------------------------
# (project_name, description) pairs: each project carries two hostile texts.
RENDER_PAIRS = list(zip(HOSTILE_TEXTS[0::2], HOSTILE_TEXTS[1::2], strict=False))
# Where each answer lands, as (file, keys to the value).
LANDINGS = {
    "project_name": [
        ("catalog-info.yaml", ("metadata", "title")),
        (".copier-answers.yml", ("project_name",)),
    ],
    "description": [
        ("catalog-info.yaml", ("metadata", "description")),
        ("pyproject.toml", ("project", "description")),
        (".copier-answers.yml", ("description",)),
    ],
}
MARKDOWN_LANDINGS = {"project_name": "README.md", "description": "README.md"}


def parse_file(path: Path) -> list[Any]:
    """Every document of a TOML, YAML or JSON file."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".toml":
        return [tomllib.loads(text)]
    if path.suffix == ".json":
        return [json.loads(text)]
    return list(yaml.safe_load_all(text))


def dig(document: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        document = document[key]
    return document


@pytest.fixture(scope="module")
def hostile_projects(
    template_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> list[tuple[dict[str, str], Path]]:
    root = tmp_path_factory.mktemp("free-text")
    projects = []
    for index, (name, description) in enumerate(RENDER_PAIRS):
        data = {
            "project_name": name,
            "description": description,
            "project_slug": f"hostile-{index}",
            "source": "s3" if index % 2 else "local",  # docs/source.md names the project
        }
        projects.append((data, render(template_repo, root / f"p{index}", data)))
    return projects


@pytest.mark.slow
@pytest.mark.cost(90)
def test_hostile_free_text_reads_back_exactly_from_every_file_it_lands_in(
    hostile_projects: list[tuple[dict[str, str], Path]],
) -> None:
    for data, project in hostile_projects:
        for path in project.rglob("*"):
            if path.suffix in (".toml", ".yaml", ".yml", ".json") and ".git" not in path.parts:
                parse_file(path)  # every structured file still parses
        for key, landings in LANDINGS.items():
            for relative, keys in landings:
                (document,) = parse_file(project / relative)
                assert dig(document, keys) == data[key], (relative, keys)
            readme = (project / MARKDOWN_LANDINGS[key]).read_text(encoding="utf-8")
            assert data[key] in readme
        if data["source"] == "s3":
            assert data["project_name"] in (project / "docs" / "source.md").read_text("utf-8")


@pytest.mark.slow
@pytest.mark.cost(30)
def test_projects_with_hostile_free_text_lint_as_rendered(
    hostile_projects: list[tuple[dict[str, str], Path]],
) -> None:
    ruff = REPO_ROOT / ".venv" / "bin" / "ruff"
    roots = [str(project) for _, project in hostile_projects]
    for arguments in (["check", "--no-cache"], ["format", "--check", "--no-cache"]):
        command = [str(ruff) if ruff.exists() else "ruff", *arguments, *roots]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
