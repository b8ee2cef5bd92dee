"""The template's answer space, read from copier.yml, and the combinations tests render.

Every question and every choice comes from copier.yml, so a choice added there is rendered,
linted and tested without editing a test. Two pieces are written by hand, on purpose:

- `is_supported(combination)`: the one readable rule saying which combinations of choices
  the template promises to render. A combination copier.yml refuses (a per-choice validator)
  is named there, and the questionnaire tests check that copier refuses it.
- the budget `MAX_FULL_PRODUCT`: past it, `combinations()` stops multiplying choices and
  picks a pairwise covering instead (every value of every question, and every pair of values
  of two questions, at least once), because choices that do not interact need not be
  multiplied.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

COPIER_YML = Path(__file__).resolve().parent.parent / "copier.yml"

# Up to this many supported combinations are all rendered; above it, a pairwise covering.
MAX_FULL_PRODUCT = 16

Combination = Mapping[str, str]


@dataclass(frozen=True)
class Question:
    """One copier.yml question: its key, default, offered values and when it is asked."""

    key: str
    default: Any
    choices: tuple[str, ...] = ()
    when: Any = True

    @property
    def is_choice(self) -> bool:
        """True when the answer is one of a fixed set of values."""
        return bool(self.choices)


def _choice_values(raw: Any) -> tuple[str, ...]:
    """Machine values of a copier `choices` entry, in the order copier.yml lists them.

    Copier accepts a list of values, a list of [label, value] pairs, or a mapping from label
    to value, where a value may itself be a mapping with `value` (and a per-choice
    `validator`).
    """
    if raw is None:
        return ()
    items: list[Any] = list(raw.values()) if isinstance(raw, dict) else list(raw)
    values: list[str] = []
    for item in items:
        if isinstance(item, dict):
            item = item["value"]
        elif isinstance(item, list | tuple):
            item = item[1]
        values.append(str(item))
    return tuple(values)


def load_questions(path: Path = COPIER_YML) -> dict[str, Question]:
    """Every question in copier.yml (keys not starting with `_`), in file order."""
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    questions: dict[str, Question] = {}
    for key, spec in config.items():
        if key.startswith("_"):
            continue
        if not isinstance(spec, dict):  # shorthand `key: default`
            questions[key] = Question(key, spec)
            continue
        questions[key] = Question(
            key,
            spec.get("default"),
            _choice_values(spec.get("choices")),
            spec.get("when", True),
        )
    return questions


QUESTIONS = load_questions()
CHOICE_QUESTIONS = tuple(question for question in QUESTIONS.values() if question.is_choice)


def is_asked(question: Question, combination: Combination) -> bool:
    """Whether copier asks `question` given the choices already made in `combination`.

    `when` in copier.yml is a bool or a Jinja expression over earlier answers; choice
    questions today have none. An expression that needs more than earlier choices fails
    loudly here rather than silently testing the wrong thing.
    """
    if isinstance(question.when, bool):
        return question.when
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    rendered = environment.from_string(str(question.when)).render(**combination)
    return rendered.strip().lower() not in {"", "false", "0", "no", "off", "none"}


# Engines copier.yml refuses for a streaming pipeline (their per-choice validators): Spark
# costs 1.7-2.1 s per micro-batch through a Python stream reader, Dask about 20x Polars'
# per-batch cost (ADR 0012).
BATCH_ONLY_ENGINES = ("spark", "dask")


def is_supported(combination: Combination) -> bool:
    """Whether the template promises to render `combination` into a working project.

    Each answer must be a value copier.yml offers, and a streaming pipeline runs on Polars
    or pandas only: Spark and Dask are batch only (copier.yml's per-choice validators on
    `engine`, BATCH_ONLY_ENGINES).
    """
    if not all(
        combination[question.key] in question.choices
        for question in CHOICE_QUESTIONS
        if question.key in combination
    ):
        return False
    return not (
        combination.get("pipeline_type") == "streaming"
        and combination.get("engine") in BATCH_ONLY_ENGINES
    )


def is_streaming(combination: Combination) -> bool:
    """True for a streaming pipeline: a consumer that needs a broker to run (the stream
    matrix runs those), no batch `run` over a bundled sample."""
    return combination.get("pipeline_type") == "streaming"


def combination_id(combination: Combination) -> str:
    """Test id such as `pipeline_type:batch-engine:polars-source:local-destination:local`."""
    return "-".join(f"{key}:{value}" for key, value in combination.items())


def default_combination() -> dict[str, str]:
    """The choices `copier copy --defaults` makes."""
    combination: dict[str, str] = {}
    for question in CHOICE_QUESTIONS:
        if is_asked(question, combination):
            combination[question.key] = str(question.default)
    return combination


def _full_product() -> list[dict[str, str]]:
    """Every supported combination of choices, each once, in copier.yml order.

    A question that is not asked for a combination is left out of it, so combinations that
    differ only in unasked questions collapse into one.
    """
    seen: set[tuple[tuple[str, str], ...]] = set()
    product: list[dict[str, str]] = []
    for values in itertools.product(*(question.choices for question in CHOICE_QUESTIONS)):
        combination: dict[str, str] = {}
        for question, value in zip(CHOICE_QUESTIONS, values, strict=True):
            if is_asked(question, combination):
                combination[question.key] = value
        key = tuple(combination.items())
        if key not in seen and is_supported(combination):
            seen.add(key)
            product.append(combination)
    return product


def _pairs(combination: Combination) -> set[tuple[tuple[str, str], tuple[str, str]]]:
    """Every pair of (question, value) answers in `combination`, plus each answer alone."""
    items = sorted(combination.items())
    singles = {(item, item) for item in items}
    return singles | set(itertools.combinations(items, 2))


def _greedy_covering(
    candidates: Sequence[Combination],
    already_chosen: Sequence[Combination],
    items: Callable[[Combination], set[Any]],
) -> list[Combination]:
    """Repeatedly take the candidate covering most still-uncovered items (the first one on
    ties, so the result is deterministic) until every item of every candidate is covered.
    Items `already_chosen` combinations cover count as covered."""
    uncovered = set().union(*(items(candidate) for candidate in candidates))
    for combination in already_chosen:
        uncovered -= items(combination)
    chosen: list[Combination] = []
    while uncovered:
        best = max(candidates, key=lambda candidate: len(items(candidate) & uncovered))
        chosen.append(best)
        uncovered -= items(best)
    return chosen


def pairwise_covering(
    candidates: Sequence[Combination], already_chosen: Sequence[Combination] = ()
) -> list[Combination]:
    """A small subset of `candidates` with every value and every pair of values they contain
    (greedy; pairs `already_chosen` combinations cover, the default one say, count as covered).
    """
    return _greedy_covering(candidates, already_chosen, _pairs)


def combinations(max_full_product: int = MAX_FULL_PRODUCT) -> list[dict[str, str]]:
    """The combinations of choices the tests render, the default combination first.

    All supported combinations while there are at most `max_full_product` of them; past
    that, a pairwise covering of them.
    """
    product = _full_product()
    default = default_combination()
    if not is_supported(default):
        raise ValueError(f"the default answers are not a supported combination: {default}")
    if len(product) <= max_full_product:
        selected: Sequence[Combination] = product
    else:
        selected = pairwise_covering(product, already_chosen=[default])
    return [default] + [dict(c) for c in selected if dict(c) != default]


def _values(combination: Combination) -> set[tuple[str, str]]:
    return set(combination.items())


def value_covering(
    candidates: Sequence[Combination], already_chosen: Sequence[Combination] = ()
) -> list[Combination]:
    """A small subset of `candidates` in which every offered value appears at least once."""
    return _greedy_covering(candidates, already_chosen, _values)


def installed_combinations() -> list[dict[str, str]]:
    """The batch combinations tests install and run end to end (layer 3), the default first.

    Every offered batch value at least once, not every pair: an installed project costs a minute
    or more of the suite, and the choices are built not to interact (every orchestrator
    calls the same engine-agnostic `run_partition`; every engine sits behind the same stage
    protocols). What pairs could break, the dependency resolution of an engine beside an
    orchestrator, is checked for every rendered combination by `uv lock` (test_render).

    Layer 3 also runs each project's README commands as written, and those need no server
    only with the default (local) source and destination: a source or destination that needs
    a server runs its project's suite, against the real server its fixtures start, in
    test_connector_matrix.py instead (every engine meets every such source and destination
    there).
    """
    default = default_combination()
    # Streaming combinations need a broker: the stream matrix installs and runs those.
    candidates = [
        combination
        for combination in _full_product()
        if not is_streaming(combination)
        and all(combination.get(key) == default.get(key) for key in CONNECTORS)
    ]
    chosen = value_covering(candidates, already_chosen=[default])
    return [default] + [dict(c) for c in chosen if dict(c) != default]


# The questions whose non-default choices need a server (S3, PostgreSQL) to run.
CONNECTORS = ("source", "destination")


def iter_choice_values() -> Iterator[tuple[str, str]]:
    """Every (question, value) copier.yml offers, for coverage checks."""
    for question in CHOICE_QUESTIONS:
        for value in question.choices:
            yield question.key, value
