"""The conformance corpus: every engine gives every case exactly its expected outcome.

`conformance/values.csv` holds value cases (a value, in a column of one contract type,
read from CSV, JSON Lines or Parquet, under one rule) with the value it must be written
as, or the exact reason codes and raw text it must be quarantined with;
`conformance/files.toml` holds file-level cases (ragged rows, broken JSON lines, invalid
UTF-8, BOM and CRLF, empty files, duplicate keys across files, ...) with the whole run's
expected outcome. docs/value-grammar.md in the template is the prose; this table is the
truth: a new grammar rule starts as a row here.

Every case runs in every engine's rendered project (`engine_projects`, shared with the
engine parity test) through `conformance/harness.py`, in one process per engine. The
tests then require 0 differences from the expected outcomes, 0 differences between
engines, the conservation law on every run (nothing dropped silently), and one Parquet
schema for the committed rows and the quarantine, whichever engine wrote them.
"""

from __future__ import annotations

import csv
import json
import math
import tomllib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable
from engine_projects import ENGINES, REFERENCE_ENGINE
from installed_project import RenderedProject, tail

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("engine_parity"), pytest.mark.cost(300)]

CONFORMANCE = Path(__file__).parent / "conformance"
HARNESS = CONFORMANCE / "harness.py"
HARNESS_TIMEOUT_S = 1800
NULL = "<null>"  # how the table writes a null value
ParquetSchema = tuple[tuple[str, str, str, int, int], ...]  # per column: path, types, levels
PARTITION = "p"

# The corpus contract: a key, a partition column, and one optional column per type.
VALUE_COLUMNS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "float": {"type": "float"},
    "float_nonfinite": {"type": "float", "allow_non_finite": True},
    "boolean": {"type": "boolean"},
    "date": {"type": "date"},
    "timestamp": {"type": "timestamp"},
}
CONTRACT = {
    "name": "corpus",
    "columns": [
        {"name": "case", "type": "string", "required": True},
        {"name": "part", "type": "string", "required": True},
        *({"name": name, **spec} for name, spec in VALUE_COLUMNS.items()),
    ],
    "key": ["case"],
    "partition_by": "part",
}
# A rule in the table (`min:0`, `accepted:EUR|USD`, ...) and the reason code it reports.
RULE_CODES = {
    "not_null": "VALUE_MISSING",
    "min": "VALUE_OUT_OF_RANGE",
    "max": "VALUE_OUT_OF_RANGE",
    "between": "VALUE_OUT_OF_RANGE",
    "accepted": "VALUE_NOT_ACCEPTED",
    "pattern": "VALUE_NOT_MATCHING",
}
PARQUET_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "large_string": pa.large_string(),
    "dictionary": pa.dictionary(pa.int32(), pa.string()),
    "double": pa.float64(),
    "float": pa.float32(),
    "int64": pa.int64(),
    "int32": pa.int32(),
    "int16": pa.int16(),
    "int8": pa.int8(),
    "uint32": pa.uint32(),
    "bool": pa.bool_(),
    "date32": pa.date32(),
    "decimal128(10,2)": pa.decimal128(10, 2),
    "timestamp[us,UTC]": pa.timestamp("us", tz="UTC"),
    "timestamp[ns,UTC]": pa.timestamp("ns", tz="UTC"),
    "timestamp[ms]": pa.timestamp("ms"),
    "timestamp[ns]": pa.timestamp("ns"),
    "timestamp[ns,Europe/Berlin]": pa.timestamp("ns", tz="Europe/Berlin"),
    "timestamp[s,+05:30]": pa.timestamp("s", tz="+05:30"),
}


# ---------------------------------------------------------------------------------------------
# The tables
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ValueCase:
    """One row of values.csv."""

    case: str
    column: str
    format: str
    input: str
    quoted: str
    parquet_type: str
    rule: str
    outcome: str
    value: str
    reasons: str
    raw: str

    @property
    def run(self) -> str:
        """The run this case belongs to: one per rule and column."""
        rule = "".join(ch if ch.isalnum() else "-" for ch in self.rule)
        return f"values-{self.column}-{rule}"

    @property
    def expected(self) -> tuple[str, ...]:
        """What the case must come out as (see `Outcome`)."""
        if self.outcome == "written":
            return ("written", self.value)
        return ("quarantined", self.reasons, self.raw or NULL)


def value_cases() -> list[ValueCase]:
    """Every case of values.csv, in order."""
    with (CONFORMANCE / "values.csv").open(newline="", encoding="utf-8") as handle:
        return [ValueCase(**row) for row in csv.DictReader(handle)]


def file_cases() -> list[dict[str, Any]]:
    """Every case of files.toml, in order."""
    return list(tomllib.loads((CONFORMANCE / "files.toml").read_text(encoding="utf-8"))["case"])


# ---------------------------------------------------------------------------------------------
# Inputs (the same files for every engine)
# ---------------------------------------------------------------------------------------------
def rule_specs(rule: str, column: str) -> list[dict[str, Any]]:
    """The harness's rules for a table rule on `column` (all `quarantine`)."""
    if rule == "none":
        return []
    kind, _, argument = rule.partition(":")
    spec: dict[str, Any] = {"code": RULE_CODES[kind], "severity": "quarantine", "column": column}
    if kind == "not_null":
        return [{**spec, "kind": "NotNull"}]
    if kind in ("min", "max"):
        return [{**spec, "kind": "InRange", kind: float(argument)}]
    if kind == "between":
        low, high = argument.split(":")
        return [{**spec, "kind": "InRange", "min": float(low), "max": float(high)}]
    if kind == "accepted":
        return [{**spec, "kind": "AcceptedValues", "values": argument.split("|")}]
    return [{**spec, "kind": "MatchesPattern", "pattern": argument}]


def csv_field(case: ValueCase) -> str:
    """The case's field as the CSV file holds it."""
    if case.quoted == "yes":
        return '"' + case.input.replace('"', '""') + '"'
    assert not set(case.input) & set(',"\r\n'), f"{case.case}: quote this input"
    return case.input


def parquet_value(text: str, arrow_type: pa.DataType) -> Any:
    """A table literal as a value of `arrow_type`."""
    if text == NULL:
        return None
    if pa.types.is_dictionary(arrow_type) or pa.types.is_string(arrow_type):
        return text
    if pa.types.is_large_string(arrow_type):
        return text
    if pa.types.is_floating(arrow_type):
        return float(text)
    if pa.types.is_integer(arrow_type):
        return int(text)
    if pa.types.is_boolean(arrow_type):
        return text == "true"
    if pa.types.is_decimal(arrow_type):
        return Decimal(text)
    if pa.types.is_date(arrow_type):
        return date.fromisoformat(text)
    stamp = datetime.fromisoformat(text)
    if arrow_type.tz is None:
        return stamp.replace(tzinfo=None)
    return stamp


def write_value_runs(cases: list[ValueCase], folder: Path) -> list[dict[str, Any]]:
    """One run per rule and column, its cases in a CSV, a JSON Lines and Parquet files."""
    runs: dict[str, list[ValueCase]] = {}
    for case in cases:
        runs.setdefault(case.run, []).append(case)
    planned = []
    for name, members in runs.items():
        folder_of_run = folder / name
        folder_of_run.mkdir(parents=True)
        files = []
        rows = [case for case in members if case.format == "csv"]
        if rows:
            path = folder_of_run / "values.csv"
            header = ["case", "part", *VALUE_COLUMNS]
            lines = [",".join(header)]
            for case in rows:
                fields = {"case": case.case, "part": PARTITION, case.column: csv_field(case)}
                lines.append(",".join(fields.get(name, "") for name in header))
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            files.append({"path": str(path), "format": "csv"})
        rows = [case for case in members if case.format == "jsonl"]
        if rows:
            path = folder_of_run / "values.jsonl"
            lines = []
            for case in rows:
                value = "" if case.input == "absent" else f', "{case.column}": {case.input}'
                lines.append(f'{{"case": "{case.case}", "part": "{PARTITION}"{value}}}')
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            files.append({"path": str(path), "format": "jsonl"})
        by_type: dict[str, list[ValueCase]] = {}
        for case in members:
            if case.format == "parquet":
                by_type.setdefault(case.parquet_type, []).append(case)
        for number, (type_name, typed) in enumerate(sorted(by_type.items())):
            arrow_type = PARQUET_TYPES[type_name]
            values = [parquet_value(case.input, arrow_type) for case in typed]
            if pa.types.is_dictionary(arrow_type):
                column = pa.array(values, pa.string()).dictionary_encode()
            else:
                column = pa.array(values, arrow_type)
            table = pa.table(
                {
                    "case": [case.case for case in typed],
                    "part": [PARTITION] * len(typed),
                    typed[0].column: column,
                }
            )
            path = folder_of_run / f"values-{number}.parquet"
            pq.write_table(table, path)
            files.append({"path": str(path), "format": "parquet"})
        planned.append(
            {
                "name": name,
                "contract": CONTRACT,
                "rules": rule_specs(members[0].rule, members[0].column),
                "transform": "identity",
                "files": files,
            }
        )
    return planned


def parquet_table(columns: dict[str, list[str]], types: dict[str, str]) -> pa.Table:
    """A Parquet case's columns (table literals), each of its named type (else string)."""
    typed = {}
    for name, values in columns.items():
        arrow_type = PARQUET_TYPES[types.get(name, "string")]
        typed[name] = pa.array([parquet_value(value, arrow_type) for value in values], arrow_type)
    return pa.table(typed)


def write_file_runs(cases: list[dict[str, Any]], folder: Path) -> list[dict[str, Any]]:
    """One run per file-level case, on the project's own contract, transforms and rules."""
    planned = []
    for number, case in enumerate(cases):
        folder_of_run = folder / f"files-{number:02d}"
        folder_of_run.mkdir(parents=True)
        files = []
        for spec in case["file"]:
            path = folder_of_run / spec["name"]
            if "parquet" in spec:
                pq.write_table(parquet_table(spec["parquet"], spec.get("parquet_types", {})), path)
            else:
                path.write_bytes(
                    spec["text"].encode("utf-8") + bytes.fromhex(spec.get("bytes_hex", ""))
                )
            suffix = path.suffix.removeprefix(".")
            files.append({"path": str(path), "format": suffix})
        planned.append(
            {
                "name": f"files-{number:02d}",
                "contract": "project",
                "rules": "project",
                "transform": "project",
                "files": files,
            }
        )
    return planned


# ---------------------------------------------------------------------------------------------
# Running and reading the outcomes
# ---------------------------------------------------------------------------------------------
@dataclass
class EngineOutcomes:
    """What one engine made of the corpus."""

    reports: dict[str, dict[str, Any]]
    values: dict[str, tuple[str, ...]] = field(default_factory=dict)  # case -> outcome
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # case name -> outcome
    lost: list[str] = field(default_factory=list)  # cases neither written nor quarantined
    schemas: dict[str, ParquetSchema] = field(default_factory=dict)  # per run: output, quarantine


def canonical(value: Any) -> str:
    """A value as the table writes it."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def committed_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows a run committed (none when it wrote nothing)."""
    location = Path(str(report.get("output") or ""))
    if not report.get("output") or not (location / "_delta_log").is_dir():
        return []
    return DeltaTable(location).to_pyarrow_table().to_pylist()


def committed_files(location: Path) -> list[Path]:
    """The data files of the table's current version."""
    if not (location / "_delta_log").is_dir():
        return []
    return sorted(Path(uri.removeprefix("file://")) for uri in DeltaTable(location).file_uris())


def quarantine_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows a run quarantined."""
    if not report.get("quarantine"):
        return []
    return pq.read_table(report["quarantine"]).to_pylist()


def parquet_schema(path: Path) -> ParquetSchema:
    """A Parquet file's own schema: each column's path, physical and logical type and
    nullability, whatever a writer adds beside it (Polars and pyarrow embed an Arrow schema
    naming `large_string` where Spark embeds none: the file's types are the same)."""
    schema = pq.ParquetFile(path).schema
    columns = (schema.column(index) for index in range(len(schema)))
    return tuple(
        (
            column.path,
            column.physical_type,
            str(column.logical_type),
            column.max_definition_level,
            column.max_repetition_level,
        )
        for column in columns
    )


def run_engine(
    project: RenderedProject, runs: list[dict[str, Any]], folder: Path
) -> EngineOutcomes:
    """Run every planned run in `project`'s environment; read what each one committed."""
    planned = [{**run, "workdir": str(folder / run["name"])} for run in runs]
    plan_path, out_path = folder / "plan.json", folder / "reports.json"
    package = str(project.answers["package_name"])
    plan_path.write_text(json.dumps({"package": package, "runs": planned}), encoding="utf-8")
    result = project.run(
        str(project.root / ".venv" / "bin" / "python"),
        str(HARNESS),
        str(plan_path),
        str(out_path),
        timeout=HARNESS_TIMEOUT_S,
    )
    assert result.returncode == 0, tail(result.stdout + result.stderr)
    return EngineOutcomes(json.loads(out_path.read_text(encoding="utf-8")))


def read_values(outcomes: EngineOutcomes, cases: list[ValueCase]) -> None:
    """Each value case's outcome, from its run's committed rows and quarantine."""
    by_run: dict[str, list[ValueCase]] = {}
    for case in cases:
        by_run.setdefault(case.run, []).append(case)
    for run, members in by_run.items():
        report = outcomes.reports[run]
        assert report["status"] == "succeeded", f"{run}: {report.get('error')}"
        column = members[0].column
        written = {row["case"]: row for row in committed_rows(report)}
        rejected = {row["case"]: row for row in quarantine_rows(report)}
        for case in members:
            if case.case in written and case.case not in rejected:
                outcomes.values[case.case] = ("written", canonical(written[case.case][column]))
            elif case.case in rejected and case.case not in written:
                row = rejected[case.case]
                raw = row.get(f"_raw:{column}")
                outcomes.values[case.case] = (
                    "quarantined",
                    ";".join(row["_reasons"]),
                    NULL if raw is None else str(raw),
                )
            else:
                outcomes.lost.append(case.case)


def read_files(outcomes: EngineOutcomes, cases: list[dict[str, Any]]) -> None:
    """Each file-level case's outcome: status, counts, violations, quarantine, writes."""
    for number, case in enumerate(cases):
        report = outcomes.reports[f"files-{number:02d}"]
        quarantine = (
            sorted(
                [
                    Path(str(row["_source_file"])).name,
                    int(row["_source_row"]),
                    ";".join(row["_reasons"]),
                    row["_raw_record"] or "",
                ]
                for row in quarantine_rows(report)
            )
            if report["status"] == "succeeded"
            else None
        )
        written = (
            {str(row["order_id"]): row["amount"] for row in committed_rows(report)}
            if report["status"] == "succeeded"
            else None
        )
        outcomes.files[case["name"]] = {
            "status": report["status"],
            "exit_code": report["exit_code"],
            "counts": report.get("counts"),
            "violations": report.get("violations"),
            "error": report.get("error"),
            "quarantine": quarantine,
            "written": written,
        }


def read_schemas(outcomes: EngineOutcomes) -> None:
    """The Parquet schemas of every run's committed files and quarantine."""
    for name, report in outcomes.reports.items():
        if report["status"] != "succeeded":
            continue
        files = committed_files(Path(str(report["output"])))
        if files:
            outcomes.schemas[f"{name} output"] = parquet_schema(files[0])
        if report.get("quarantine"):
            outcomes.schemas[f"{name} quarantine"] = parquet_schema(Path(report["quarantine"]))


@pytest.fixture(scope="module")
def corpus(
    engine_projects: dict[str, RenderedProject], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, EngineOutcomes]:
    """Every engine's outcome of every case."""
    cases, files = value_cases(), file_cases()
    inputs = tmp_path_factory.mktemp("conformance-inputs")
    runs = write_value_runs(cases, inputs / "values") + write_file_runs(files, inputs / "files")
    outcomes = {}
    for engine in ENGINES:
        engine_outcomes = run_engine(
            engine_projects[engine], runs, tmp_path_factory.mktemp(f"conformance-{engine}")
        )
        read_values(engine_outcomes, cases)
        read_files(engine_outcomes, files)
        read_schemas(engine_outcomes)
        outcomes[engine] = engine_outcomes
    return outcomes


# ---------------------------------------------------------------------------------------------
# The table itself
# ---------------------------------------------------------------------------------------------
def test_the_corpus_covers_every_type_format_and_rule_kind() -> None:
    cases = value_cases()
    assert len(cases) >= 150
    assert len({case.case for case in cases}) == len(cases), "case names must be unique"
    pairs = {(VALUE_COLUMNS[case.column]["type"], case.format) for case in cases}
    types = {spec["type"] for spec in VALUE_COLUMNS.values()}
    assert pairs == {(kind, fmt) for kind in types for fmt in ("csv", "jsonl", "parquet")}
    assert {case.rule.partition(":")[0] for case in cases} == {"none", *RULE_CODES}
    assert {case.outcome for case in cases} == {"written", "quarantined"}
    for case in cases:
        assert (case.format == "parquet") == bool(case.parquet_type), case.case
        assert (case.outcome == "written") != bool(case.reasons), case.case


def test_the_file_cases_cover_every_malformed_record_and_unreadable_file() -> None:
    cases = file_cases()
    reasons = {
        code
        for case in cases
        for _, _, codes, _ in case["expect"].get("quarantine", [])
        for code in codes.split(";")
    }
    assert {"RAGGED_RECORD", "MALFORMED_JSON", "NOT_A_JSON_OBJECT", "INVALID_UTF8"} <= reasons
    assert any(case["expect"]["exit_code"] == 65 for case in cases)


# ---------------------------------------------------------------------------------------------
# Every engine against the table, and against each other
# ---------------------------------------------------------------------------------------------
def differences(outcomes: EngineOutcomes, cases: list[ValueCase]) -> Iterator[str]:
    """Each case whose outcome is not the table's, described."""
    for case in cases:
        got = outcomes.values.get(case.case)
        if got != case.expected:
            yield f"{case.case} ({case.format} {case.input!r}): expected {case.expected}, got {got}"


@pytest.mark.parametrize("engine", ENGINES)
def test_every_value_case_comes_out_as_the_table_says(
    corpus: dict[str, EngineOutcomes], engine: str
) -> None:
    outcomes = corpus[engine]
    assert outcomes.lost == [], "written and quarantined both, or neither"
    wrong = list(differences(outcomes, value_cases()))
    assert wrong == [], f"{len(wrong)} differences:\n" + "\n".join(wrong)


@pytest.mark.parametrize("engine", ENGINES)
def test_every_file_case_comes_out_as_the_table_says(
    corpus: dict[str, EngineOutcomes], engine: str
) -> None:
    wrong = []
    for case in file_cases():
        got, expect = corpus[engine].files[case["name"]], case["expect"]
        problems = []
        if (got["status"], got["exit_code"]) != (expect["status"], expect["exit_code"]):
            problems.append(f"status {got['status']}/{got['exit_code']}: {got['error']}")
        for part in expect.get("error", []):
            if part not in str(got["error"]):
                problems.append(f"error lacks {part!r}: {got['error']}")
        if "counts" in expect and got["counts"] != expect["counts"]:
            problems.append(f"counts {got['counts']}")
        for code, count in expect.get("violations", {}).items():
            if (got["violations"] or {}).get(code) != count:
                problems.append(f"{code}: {(got['violations'] or {}).get(code)}")
        if "quarantine" in expect and got["quarantine"] != sorted(expect["quarantine"]):
            problems.append(f"quarantine {got['quarantine']}")
        if "written" in expect and got["written"] != expect["written"]:
            problems.append(f"written {got['written']}")
        wrong += [f"{case['name']}: {problem}" for problem in problems]
    assert wrong == [], "\n".join(wrong)


def test_every_engine_gives_every_case_the_same_outcome(
    corpus: dict[str, EngineOutcomes],
) -> None:
    reference = corpus[REFERENCE_ENGINE]
    for engine, outcomes in corpus.items():
        differing = sorted(
            case
            for case in reference.values.keys() | outcomes.values.keys()
            if reference.values.get(case) != outcomes.values.get(case)
        )
        assert differing == [], f"{engine} differs from {REFERENCE_ENGINE} on {differing}"
        for name, outcome in reference.files.items():
            theirs = outcomes.files[name]
            same = {key: value for key, value in outcome.items() if key != "error"}
            assert {key: theirs[key] for key in same} == same, f"{engine}: {name}"


def test_every_run_keeps_the_books_nothing_is_dropped_silently(
    corpus: dict[str, EngineOutcomes],
) -> None:
    cases = Counter(case.run for case in value_cases())
    for engine, outcomes in corpus.items():
        for name, report in outcomes.reports.items():
            counts = report.get("counts")
            if report["status"] != "succeeded":
                continue
            assert counts["read"] == (
                counts["written"]
                + counts["superseded"]
                + counts["quarantined"]
                + counts["filtered"]
            )
            if name in cases:  # identity transforms: every case is written or quarantined
                assert counts["read"] == cases[name] and counts["filtered"] == 0, (engine, name)
                assert len(committed_rows(report)) == counts["written"], (engine, name)
                assert len(quarantine_rows(report)) == counts["quarantined"], (engine, name)


def test_every_engine_writes_one_parquet_schema(corpus: dict[str, EngineOutcomes]) -> None:
    reference = corpus[REFERENCE_ENGINE].schemas
    output = reference["values-float-none output"]
    assert "part" not in {column[0] for column in output}  # partition values live in paths
    for engine, outcomes in corpus.items():
        assert outcomes.schemas.keys() == reference.keys(), engine
        for what, schema in reference.items():
            assert outcomes.schemas[what] == schema, (
                f"{engine}'s {what} schema:\n{outcomes.schemas[what]}\n"
                f"{REFERENCE_ENGINE}'s:\n{schema}"
            )
