"""Property test of the questionnaire: every generated answer set is either refused with a
message naming the question, or renders a project that parses, lints, compiles, installs,
type-checks and runs.

Hypothesis generates answer sets (free text from hostile alphabets, slugs, package names,
owners and schedules near and past their rules, every choice) with a fixed seed, so CI is
reproducible. Cheap checks run on all of them; the costly ones on as few as cover them:
- the validators (and copier.yml's per-choice ones: Spark and Dask are batch only) run
  in-process for every set (a few hundred);
- accepted sets are rendered in-process with copier's API from a plain copy of the template
  (no git clone per render), one per combination of choices and shape of names;
- every TOML, YAML and JSON file is parsed, and the free text reads back exactly; ruff and
  compileall run once over all renders;
- a small sample (local input and output, so its bundled sample runs; polars; the longest
  package name) is installed, type-checked and run.
The refusal classes found are printed at the end.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import answer_space
import hypothesis
import jinja2
import pytest
import yaml
from extension_modules import load_extension
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from installed_project import install
from template_fixtures import REPO_ROOT, render, working_tree_files

answers = load_extension("answers")
context_hook = load_extension("context")
aws_schedule = load_extension("aws_schedule")
given_answers = load_extension("given_answers")

ANSWER_SETS = 300
MAX_RENDERS = 16
INSTALL_SAMPLE = 1
FREE_TEXT_KEYS = ("project_name", "description")
ANSWER_KEYS = ("project_name", "project_slug", "package_name", "description", "owner", "schedule")
# Every key a refusal can name: the free answers, and the choices some combinations refuse
# (a per-choice validator: Spark and Dask for streaming).
REFUSED_KEYS = ANSWER_KEYS + tuple(question.key for question in answer_space.CHOICE_QUESTIONS)

# ---------------------------------------------------------------------------------------
# Answer strategies
# ---------------------------------------------------------------------------------------
# Pieces of free text every format must carry: accepted, and they must come back exactly.
PRINTABLE_PIECES = [
    *("🚀", "👩\u200d👩\u200d👧", "\u200b", "\u200f", '"', "'", "\\", "{{ x }}", "{% if %}"),
    *("{#", "#", ": ", "- ", "* ", "&a", "!tag", "|", ">", "%", "@", "`", "é", "e\u0301", "ß"),
    *("ﬁ", "\uff21", "طلب", "中文", "null", "~", "\U0010fffd", "\ufeff", "x" * 60),
]
# Pieces that are refused: controls, separators, lone surrogates, bidi overrides, secrets.
REFUSED_PIECES = [
    *("\u202e", "\u2028", "\x85", "\x7f", "\x00", "\t", "\n", "\r", "\udcff", "\x1b[2J"),
    *("password=Hunter2", "AKIA" + "IOSFODNN7EXAMPLE", "ghp_" + "A1b2C3d4E5" * 4),
]
words = st.sampled_from(["Orders", "pipeline", "data", "eng", "daily", "Loads", "a", "to"])
printable_text = st.lists(st.sampled_from(PRINTABLE_PIECES) | words, min_size=1, max_size=8)
# Free text with at least one refused piece somewhere in it.
hostile_text = st.builds(
    "{}{}{}".format,
    printable_text.map(" ".join),
    st.sampled_from(REFUSED_PIECES),
    printable_text.map("".join),
)


class AnswerStrategy(NamedTuple):
    """Values of one answer: plausible ones (mostly accepted) and hostile ones (mostly not)."""

    plausible: st.SearchStrategy[str]
    hostile: st.SearchStrategy[str]


free_text = AnswerStrategy(
    printable_text.map(" ".join) | printable_text.map("".join),
    hostile_text
    | st.text(st.characters(), max_size=30)
    | st.sampled_from(["", "   ", "x" * 500, "x" * 501]),
)
slug_text = AnswerStrategy(
    st.from_regex(r"[a-z0-9]([-a-z0-9]{0,47}[a-z0-9])?", fullmatch=True),
    st.from_regex(r"[a-z0-9]([-a-z0-9]{45,60}[a-z0-9])?", fullmatch=True)
    | st.text(st.sampled_from("abz09-_. Aé"), max_size=70),
)
package_text = AnswerStrategy(
    st.from_regex(r"[a-z_][a-z0-9_]{0,22}", fullmatch=True),
    st.from_regex(r"[a-z_][a-z0-9_]{18,30}", fullmatch=True)
    | st.sampled_from(["polars", "certifi", "six", "attr", "dags", "flows", "src", "class"])
    | st.sampled_from(["json", "openssl", "Orders", "2024_orders", "a" * 23, "z" * 24])
    | st.text(st.sampled_from("az09_-. "), max_size=30),
)
owner_name = st.from_regex(r"[a-zA-Z0-9]([-_.]?[a-zA-Z0-9]){0,20}", fullmatch=True)
owner_text = AnswerStrategy(
    st.builds(
        "{}{}{}".format,
        st.sampled_from(["", "group:", "user:"]),
        st.sampled_from(["", "default/", "team-a/"]),
        owner_name,
    ),
    st.builds(
        "{}{}{}".format,
        st.sampled_from(["", "group:", "team:", "Group:"]),
        st.sampled_from(["", "bad ns/", "a" * 64 + "/"]),
        owner_name | st.text(max_size=8),
    )
    | st.text(max_size=20),
)
# Valid values per cron field (minute, hour, day-of-month, month, day-of-week).
CRON_FIELD_VALUES = [
    ["*", "0", "5", "*/15", "0-30/10"],
    ["*", "3", "0-6", "*/2"],
    ["*", "1", "1-15"],
    ["*", "1", "JAN", "6-8"],
    ["*", "MON", "1-5", "0"],
]
valid_cron = st.tuples(*(st.sampled_from(values) for values in CRON_FIELD_VALUES)).map(" ".join)
cron_token = st.sampled_from(
    ["*", "0", "5", "*/15", "1-5", "MON", "JAN", "60", "7", "L", "?", "5/2"]
)
schedule_text = AnswerStrategy(
    st.sampled_from(answers.SCHEDULE_PRESETS) | valid_cron,
    st.sampled_from(["@quarterly", "", " @daily"])
    | st.lists(cron_token, min_size=4, max_size=6).map(" ".join),
)


def optional(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[str | None]:
    """An answer, or None: left to its default (derived from earlier answers)."""
    return st.none() | strategy


ANSWER_STRATEGIES = {
    "project_name": free_text,
    "project_slug": slug_text,
    "package_name": package_text,
    "description": free_text,
    "owner": owner_text,
    "schedule": schedule_text,
}
# Questions with a default: left out of an answer set (None) they are derived or defaulted.
OPTIONAL_KEYS = set(ANSWER_KEYS) - {"project_name"}


@st.composite
def answer_sets(draw: st.DrawFn, *, hostile: bool) -> dict[str, str]:
    """One answer set as `--data` would pass it: some answers given, the rest defaulted.

    A hostile set has one answer drawn from its hostile values (refused one at a time, each
    with its own message); the others are plausible, so enough sets pass to be rendered."""
    hostile_key = draw(st.sampled_from(ANSWER_KEYS)) if hostile else None
    given: dict[str, str | None] = {}
    for key, strategy in ANSWER_STRATEGIES.items():
        values = strategy.hostile if key == hostile_key else strategy.plausible
        given[key] = draw(optional(values) if key in OPTIONAL_KEYS else values)
    for question in answer_space.CHOICE_QUESTIONS:
        given[question.key] = draw(st.sampled_from(question.choices))
    return {key: value for key, value in given.items() if value is not None}


# ---------------------------------------------------------------------------------------
# In-process validation
# ---------------------------------------------------------------------------------------
def with_defaults(given: Mapping[str, str]) -> dict[str, str]:
    """The full answers copier would render: given ones, the rest defaulted or derived."""
    full = {key: str(value) for key, value in given.items()}
    for question in answer_space.QUESTIONS.values():
        if question.key not in full and not str(question.default).startswith("{{"):
            full[question.key] = str(question.default)
    full.setdefault("project_slug", answers.slugify(full["project_name"]))
    full.setdefault("package_name", answers.package_from_slug(full["project_slug"]))
    return full


def choice_problems(full: Mapping[str, str]) -> list[str]:
    """What the chosen values' own validators in copier.yml say (worded as the render hook
    words them: `engine 'spark': Spark is batch only...`)."""
    questions = given_answers.questions(str(REPO_ROOT))
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    problems = []
    for question in answer_space.CHOICE_QUESTIONS:
        validator = given_answers.choice_validator(questions[question.key], full[question.key])
        problem = environment.from_string(validator).render(**full).strip() if validator else ""
        if problem:
            problems.append(f"{question.key} {full[question.key]!r}: {problem}")
    return problems


def problems_of(full: Mapping[str, str]) -> list[str]:
    """What the questionnaire's validators say about `full` (empty: accepted)."""
    problems = context_hook.answer_problems(full) + choice_problems(full)
    on_aws = full["orchestrator"] == "step_functions"
    if on_aws and not answers.schedule_problem(full["schedule"]):
        problems += filter(None, [aws_schedule.aws_schedule_problem(full["schedule"])])
    return problems


def refusal_class(problem: str) -> str:
    """A problem without its values: "project_slug: is N characters long", ..."""
    key = next(key for key in REFUSED_KEYS if problem.startswith(key))
    if "credential (" in problem:
        return f"{key}: looks like a credential ({problem.split('credential (')[1].split(')')[0]})"
    rest = problem[len(key) :]
    rest = re.sub(r"^ '.*?'(?=[ :])", "", rest).lstrip(": ")  # the answer itself
    rest = re.sub(r"'[^' ]*'|\([^)]*U\+[^)]*\)", "", rest)  # quoted values, characters
    rest = re.sub(r"\d+", "N", rest).split(": ")[0]
    return f"{key}: {' '.join(rest.split())}"


# ---------------------------------------------------------------------------------------
# Rendered projects
# ---------------------------------------------------------------------------------------
def plain_template_copy(destination: Path) -> Path:
    """The template's working tree copied without git: copier renders it in place."""
    for relative in working_tree_files(REPO_ROOT):
        origin = REPO_ROOT / relative
        if origin.is_file():
            (destination / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, destination / relative)
    return destination


def shape(full: Mapping[str, str]) -> tuple[Any, ...]:
    """What makes two accepted sets render differently enough to both be worth rendering."""
    return (
        *(
            full[question.key]
            for question in answer_space.CHOICE_QUESTIONS
            if answer_space.is_asked(question, full)  # copier ignores the others' answers
        ),
        len(full["package_name"]) >= answers.MAX_PACKAGE_NAME_LENGTH - 2,
        len(full["project_slug"]) >= answers.MAX_SLUG_LENGTH - 2,
        any(not char.isascii() for key in FREE_TEXT_KEYS for char in full[key]),
    )


def interest(full: Mapping[str, str]) -> tuple[int, ...]:
    """Longer names first: they are the ones that break lines and limits."""
    return (len(full["package_name"]), len(full["project_slug"]), len(full["project_name"]))


def is_runnable(full: Mapping[str, str]) -> bool:
    """True when `python -m src.cli run` runs the bundled sample with no server to reach (a
    streaming project needs a broker: the stream matrix runs those)."""
    batch = not answer_space.is_streaming(full)
    return batch and full["source"] == "local" and full["destination"] == "local"


def structured_files(project: Path) -> list[Path]:
    return [
        path
        for path in project.rglob("*")
        if path.suffix in (".toml", ".yaml", ".yml", ".json") and path.is_file()
    ]


def parse(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".toml":
        tomllib.loads(text)
    elif path.suffix == ".json":
        json.loads(text)
    else:
        list(yaml.safe_load_all(text))


def assert_free_text_reads_back(root: Path, full: Mapping[str, str]) -> None:
    """The name and description come back exactly from the TOML and YAML they are in."""
    catalog = yaml.safe_load((root / "catalog-info.yaml").read_text(encoding="utf-8"))
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    assert catalog["metadata"]["title"] == full["project_name"]
    assert catalog["metadata"]["description"] == full["description"]
    assert pyproject["project"]["description"] == full["description"]


def run_over(command: list[str], roots: list[Path]) -> None:
    """Run `command` once over every root, failing with its output."""
    result = subprocess.run(
        [*command, *map(str, roots)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}{result.stderr}"[-6000:]


def tool(name: str) -> str:
    local = REPO_ROOT / ".venv" / "bin" / name
    return str(local) if local.exists() else name


@pytest.mark.slow
@pytest.mark.cost(240)
def test_every_generated_answer_set_is_refused_with_a_message_or_renders_a_working_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    accepted: dict[tuple[Any, ...], dict[str, str]] = {}
    refusals: Counter[str] = Counter()
    generated: list[dict[str, str]] = []
    refused_samples: dict[str, dict[str, str]] = {}

    def check(answer_set: dict[str, str]) -> None:
        generated.append(answer_set)
        full = with_defaults(answer_set)
        problems = problems_of(full)  # a traceback here fails the test, shrunk
        for problem in problems:
            assert problem.startswith(REFUSED_KEYS), problem
            refusals[refusal_class(problem)] += 1
            refused_samples.setdefault(refusal_class(problem), answer_set)
        if not problems:
            best = accepted.get(shape(full))
            if best is None or interest(full) > interest(with_defaults(best)):
                accepted[shape(full)] = answer_set

    # Half the sets hostile, half plausible: Hypothesis draws a choice between the two
    # unevenly, so each half gets its own run.
    for hostile in (True, False):
        run = settings(
            max_examples=ANSWER_SETS // 2,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )(hypothesis.given(answer_sets(hostile=hostile))(check))
        run()

    # Copier itself refuses one set of each class with its message, no traceback.
    from copier.errors import UserMessageError

    template = plain_template_copy(tmp_path / "template")
    for index, given in enumerate(list(refused_samples.values())[:8]):
        with pytest.raises(UserMessageError) as refused:
            render(template, tmp_path / f"refused-{index}", given, None, skip_tasks=True)
        assert any(key in str(refused.value) for key in REFUSED_KEYS)

    by_interest = sorted(accepted.values(), key=lambda g: interest(with_defaults(g)), reverse=True)
    chosen = by_interest[:MAX_RENDERS]
    # The install sample runs the bundled sample, which needs local input and output.
    runnable = [given for given in by_interest if is_runnable(with_defaults(given))]
    if runnable and not any(given in runnable for given in chosen):
        chosen[-1] = runnable[0]
    roots = [
        render(template, tmp_path / f"project-{index}", given, None, skip_tasks=True)
        for index, given in enumerate(chosen)
    ]
    for root, given in zip(roots, chosen, strict=True):
        for path in structured_files(root):
            parse(path)
        assert_free_text_reads_back(root, with_defaults(given))
    run_over([tool("ruff"), "check", "--no-cache", "--quiet"], roots)
    run_over([tool("ruff"), "format", "--check", "--no-cache", "--quiet"], roots)
    run_over([sys.executable, "-m", "compileall", "-q"], roots)

    install_order = sorted(
        range(len(chosen)),
        key=lambda i: (
            not is_runnable(with_defaults(chosen[i])),
            with_defaults(chosen[i])["engine"] != "polars",
            -interest(with_defaults(chosen[i]))[0],
        ),
    )
    for index in install_order[:INSTALL_SAMPLE]:
        project = install(roots[index], environment=tmp_path / "environment")
        project.uv_run("mypy", "src", "tests")
        project.uv_run("python", "-m", "src.cli", "run")

    with capsys.disabled():
        refused = len(generated) - sum(1 for g in generated if not problems_of(with_defaults(g)))
        print(f"\n{len(generated)} answer sets, {refused} refused, {len(roots)} rendered")
        print("classes of refusals:")
        for name, count in refusals.most_common():
            print(f"  {count:4d}  {name}")
    assert roots, "no generated answer set was accepted"
