"""The questionnaire refuses bad answers through the real copier CLI, and renders defaults.

Every case runs `python -m copier copy` against a tagged snapshot of the working tree
(`template_repo`) and checks what a user sees: a non-zero exit, a message naming the
question and the fix, and no half-rendered project left behind. Credential-like values are
assembled at run time so secret scanners do not flag this file, and the tests check that
copier never echoes them back.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import answer_space
import pytest
import yaml
from extension_modules import load_extension
from template_fixtures import commit_and_tag

PACKAGE_LIMIT = load_extension("answers").MAX_PACKAGE_NAME_LENGTH

# Assembled from parts: see the module docstring.
AWS_ACCESS_KEY_ID = "AKIA" + "IOSFODNN7" + "EXAMPLE"
PRIVATE_KEY_BLOCK = (
    "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA " + "PRIVATE KEY-----"
)
DATABASE_URL = "postgres://" + "u:p" + "@host/db"
GITHUB_TOKEN = "ghp" + "_" + "A1b2C3d4E5f6G7h8I9j0" * 2


@dataclass(frozen=True)
class BadAnswer:
    """One invalid answer and what the refusal must say about it."""

    id: str
    key: str
    value: str
    hint: str
    secret: str = ""


BAD_ANSWERS = [
    BadAnswer(
        "slug-with-uppercase-and-underscore",
        "project_slug",
        "Orders_Pipeline",
        "use lowercase letters, digits and '-'",
    ),
    BadAnswer("slug-longer-than-49", "project_slug", "a" * 50, "at most 49, so that"),
    BadAnswer(
        "package-longer-than-the-limit",
        "package_name",
        "a" * (PACKAGE_LIMIT + 1),
        f"at most {PACKAGE_LIMIT}, so that",
    ),
    BadAnswer("package-is-transitive", "package_name", "certifi", "would shadow it"),
    BadAnswer("name-with-emoji-and-newline", "project_name", "Orders 🚀\nx", "U+000A"),
    BadAnswer("package-is-a-keyword", "package_name", "class", "e.g. 'class_pipeline'"),
    BadAnswer("package-is-stdlib", "package_name", "json", "e.g. 'json_pipeline'"),
    BadAnswer("package-is-a-dependency", "package_name", "polars", "e.g. 'polars_pipeline'"),
    BadAnswer("owner-of-wrong-kind", "owner", "team:data-eng", "e.g. 'group:default/data-eng'"),
    BadAnswer("schedule-hour-25", "schedule", "0 25 * * *", "out of range 0-23"),
    BadAnswer("schedule-not-cron", "schedule", "rate(5 minutes)", "use a preset (@hourly"),
    BadAnswer("name-empty", "project_name", "", "write a short text"),
    BadAnswer("description-too-long", "description", "x" * 1000, "shorten it to at most"),
    BadAnswer("type-not-offered", "pipeline_type", "hybrid", "use one of batch, streaming"),
    BadAnswer("stream-source-not-offered", "stream_source", "pulsar", "use one of kafka, kinesis"),
    BadAnswer("type-unknown", "pipeline_type", "Batch", "use one of batch"),
    BadAnswer(
        "name-with-aws-key-id",
        "project_name",
        f"Orders {AWS_ACCESS_KEY_ID}",
        "never secret values",
        AWS_ACCESS_KEY_ID,
    ),
    BadAnswer(
        "description-with-private-key",
        "description",
        PRIVATE_KEY_BLOCK,
        "never secret values",
        "MIIEowIBAAKCAQEA7",
    ),
    BadAnswer(
        "description-with-password-url",
        "description",
        f"Loads orders from {DATABASE_URL}",
        "never secret values",
        DATABASE_URL,
    ),
    BadAnswer(
        "name-with-github-token",
        "project_name",
        f"Orders {GITHUB_TOKEN}",
        "never secret values",
        GITHUB_TOKEN,
    ),
]


@pytest.fixture(scope="session")
def copier_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for copier runs: no user settings, and a shared bytecode cache.

    Without cached bytecode every run recompiles copier and its dependencies (about a
    second each when PYTHONDONTWRITEBYTECODE is set); the cache lives in the session's
    temporary directory, so nothing is written into the virtual environment.
    """
    workdir = tmp_path_factory.mktemp("copier-env")
    settings = workdir / "settings.yml"
    settings.write_text("{}\n", encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env.update(
        COPIER_SETTINGS_PATH=str(settings),
        PYTHONPYCACHEPREFIX=str(workdir / "pycache"),
        NO_COLOR="1",
    )
    return env


def copier_copy(
    template: Path, destination: Path, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """Run `copier copy` non-interactively from `template`'s HEAD into `destination`."""
    command = [sys.executable, "-m", "copier", "copy", "--trust", "--defaults"]
    command += ["--vcs-ref", "HEAD", *args, str(template), str(destination)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def assert_refused(
    result: subprocess.CompletedProcess[str], destination: Path, *expected: str
) -> str:
    """Check copier failed, said each of `expected`, and left no rendered files."""
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    for text in expected:
        assert text in output, f"{text!r} missing from copier output:\n{output}"
    assert not destination.exists() or not any(destination.iterdir())
    return output


@pytest.mark.parametrize("bad", BAD_ANSWERS, ids=lambda bad: bad.id)
def test_copy_refuses_bad_answer_given_with_data_flag(
    bad: BadAnswer, template_repo: Path, tmp_path: Path, copier_env: dict[str, str]
) -> None:
    destination = tmp_path / "project"
    result = copier_copy(template_repo, destination, copier_env, "--data", f"{bad.key}={bad.value}")
    output = assert_refused(result, destination, bad.key, bad.hint)
    assert "Traceback" not in output
    if bad.secret:
        assert bad.secret not in output


@pytest.mark.parametrize("bad", BAD_ANSWERS, ids=lambda bad: bad.id)
def test_copy_refuses_bad_answer_given_in_data_file(
    bad: BadAnswer, template_repo: Path, tmp_path: Path, copier_env: dict[str, str]
) -> None:
    answers = tmp_path / "answers.yml"
    answers.write_text(yaml.safe_dump({bad.key: bad.value}), encoding="utf-8")
    destination = tmp_path / "project"
    result = copier_copy(template_repo, destination, copier_env, "--data-file", str(answers))
    output = assert_refused(result, destination, bad.key, bad.hint)
    assert "Traceback" not in output
    if bad.secret:
        assert bad.secret not in output


def test_every_bad_given_answer_is_refused_at_once_before_any_question(
    template_repo: Path, tmp_path: Path, copier_env: dict[str, str]
) -> None:
    # Copier itself would stop at the first one with a traceback; the render hook checks
    # every given answer against copier.yml's choices and validators first.
    destination = tmp_path / "project"
    result = copier_copy(
        template_repo,
        destination,
        copier_env,
        *("--data", "project_name="),
        *("--data", "pipeline_type=hybrid"),
        *("--data", "orchestrator=step_functions"),
        *("--data", "schedule=0 3 * * 8"),
    )
    output = assert_refused(
        result,
        destination,
        "given with --data or --data-file are invalid",
        "project_name is empty",
        "pipeline_type 'hybrid' is not one of the choices: use one of batch",
        "schedule '0 3 * * 8'",
        "Nothing was written",
    )
    assert "Traceback" not in output


def test_a_name_whose_plain_package_would_be_a_keyword_derives_a_usable_one(
    template_repo: Path, tmp_path: Path, copier_env: dict[str, str]
) -> None:
    # "Class" -> slug "class" -> package "class_pipeline", not the keyword "class": copier
    # validates a derived default itself and fails with a traceback, so derived defaults
    # are always valid (package_from_slug).
    destination = tmp_path / "project"
    result = copier_copy(template_repo, destination, copier_env, "--data", "project_name=Class")
    assert result.returncode == 0, result.stderr
    assert (destination / "src" / "class_pipeline" / "cli.py").is_file()


@pytest.fixture(scope="module")
def template_repo_without_validators(
    template_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The template with the answer validators removed from copier.yml.

    Stands in for a Copier that renders unvalidated defaults, so what refuses bad answers
    is the render-time check in extensions/context.py.
    """
    repo = tmp_path_factory.mktemp("no-validators") / "repo"
    shutil.copytree(template_repo, repo, ignore=shutil.ignore_patterns(".git"))
    copier_yml = repo / "copier.yml"
    config, removed = re.subn(
        r"^\s+validator: \"\{\{ \w+ \| \w+_problem.*\}\}\"\n",
        "",
        copier_yml.read_text(encoding="utf-8"),
        flags=re.MULTILINE,
    )
    assert removed >= 6, "copier.yml no longer has the validators this fixture removes"
    copier_yml.write_text(config, encoding="utf-8")
    commit_and_tag(repo, "Template without answer validators")
    return repo


def test_render_hook_refuses_unvalidated_answers_and_lists_every_problem(
    template_repo_without_validators: Path, tmp_path: Path, copier_env: dict[str, str]
) -> None:
    destination = tmp_path / "project"
    result = copier_copy(
        template_repo_without_validators,
        destination,
        copier_env,
        "--data",
        "package_name=class",
        "--data",
        "schedule=0 25 * * *",
    )
    output = assert_refused(
        result,
        destination,
        "Cannot render the project",
        "package_name 'class' is a Python keyword",
        "hour field '25' is out of range 0-23",
        "--data key=value",
    )
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("key", "value", "choices"),
    [
        ("engine", "duckdb", "dask, pandas, polars, spark"),
        ("stream_source", "../sources/local", "kafka, kinesis"),
        ("orchestrator", "../engines/polars", "airflow, dagster, prefect, step_functions"),
        ("source", "kafka", "local, postgres, s3"),
        ("destination", "LOCAL", "local, postgres, s3"),
    ],
)
def test_a_choice_that_does_not_exist_is_refused_with_the_valid_ones(
    key: str,
    value: str,
    choices: str,
    template_repo: Path,
    tmp_path: Path,
    copier_env: dict[str, str],
) -> None:
    # Given with --data, a choice reaches the template's context hook before copier
    # checks it against `choices`: the hook must refuse it, not crash reading its data.
    destination = tmp_path / "project"
    result = copier_copy(template_repo, destination, copier_env, "--data", f"{key}={value}")
    output = assert_refused(
        result, destination, f"{key} {value!r} is not one of the choices: use one of {choices}"
    )
    assert "Traceback" not in output


def test_defaults_render_the_orders_pipeline(
    template_repo: Path, tmp_path: Path, copier_env: dict[str, str]
) -> None:
    destination = tmp_path / "project"
    result = copier_copy(template_repo, destination, copier_env)
    assert result.returncode == 0, result.stdout + result.stderr
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["_commit"] == "v0.1.0"
    assert {key: answers[key] for key in ("project_slug", "package_name", "schedule")} == {
        "project_slug": "orders-pipeline",
        "package_name": "orders_pipeline",
        "schedule": "@daily",
    }
    assert (destination / "src" / "orders_pipeline").is_dir()


# Engines copier.yml refuses for streaming, and the reason its per-choice validator gives.
BATCH_ONLY_ENGINE_REASONS = {
    "spark": "Spark is batch only: a micro-batch costs 1.7-2.1 s",
    "dask": "Dask is batch only: a one-partition micro-batch costs about 20x",
}


def test_the_batch_only_engines_are_those_answer_space_refuses_for_streaming() -> None:
    assert sorted(BATCH_ONLY_ENGINE_REASONS) == sorted(answer_space.BATCH_ONLY_ENGINES)


@pytest.mark.parametrize("engine", sorted(BATCH_ONLY_ENGINE_REASONS))
@pytest.mark.parametrize("how", ["data-flags", "data-file"])
def test_a_batch_only_engine_is_refused_for_streaming_with_the_reason(
    engine: str, how: str, template_repo: Path, tmp_path: Path, copier_env: dict[str, str]
) -> None:
    destination = tmp_path / "project"
    given = {"pipeline_type": "streaming", "engine": engine}
    if how == "data-file":
        answers = tmp_path / "answers.yml"
        answers.write_text(yaml.safe_dump(given), encoding="utf-8")
        arguments = ["--data-file", str(answers)]
    else:
        arguments = [item for key, value in given.items() for item in ("--data", f"{key}={value}")]
    result = copier_copy(template_repo, destination, copier_env, *arguments)
    output = assert_refused(
        result,
        destination,
        f"engine {engine!r}: {BATCH_ONLY_ENGINE_REASONS[engine]}",
        "pick polars or pandas for streaming",
    )
    assert "Traceback" not in output


@pytest.mark.parametrize("engine", sorted(BATCH_ONLY_ENGINE_REASONS))
def test_a_batch_only_engine_renders_a_batch_project(
    engine: str, template_repo: Path, tmp_path: Path, copier_env: dict[str, str]
) -> None:
    destination = tmp_path / "project"
    result = copier_copy(template_repo, destination, copier_env, "--data", f"engine={engine}")
    assert result.returncode == 0, result.stdout + result.stderr
    answers = yaml.safe_load((destination / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert (answers["pipeline_type"], answers["engine"]) == ("batch", engine)


def recorded_answers(project: Path) -> dict[str, str]:
    """The questions' answers in the project's .copier-answers.yml (copier's own `_` keys
    left out)."""
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    return {key: value for key, value in answers.items() if not key.startswith("_")}


def test_streaming_asks_the_stream_source_and_not_the_batch_questions(
    template_repo: Path, tmp_path: Path, copier_env: dict[str, str]
) -> None:
    destination = tmp_path / "project"
    result = copier_copy(
        template_repo, destination, copier_env, "--data", "pipeline_type=streaming"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    answers = recorded_answers(destination)
    assert answers["stream_source"] == "kafka"
    assert "source" not in answers
    # The orchestrator runs the table upkeep on the schedule (ADR 0012).
    assert (answers["orchestrator"], answers["schedule"]) == ("airflow", "@daily")
    asked = {
        key
        for key, question in answer_space.QUESTIONS.items()
        if answer_space.is_asked(question, answers)
    }
    assert asked == set(answers)


def test_answers_to_questions_not_asked_are_ignored_not_recorded(
    template_repo: Path, tmp_path: Path, copier_env: dict[str, str]
) -> None:
    # Copier drops a given answer whose question's `when` is false: a batch project given a
    # stream source, or a streaming one given a source, renders as if it were not given (a
    # valid answer; an invalid one is refused all the same). A streaming project keeps its
    # orchestrator and schedule: they run its table upkeep.
    batch = tmp_path / "batch"
    result = copier_copy(template_repo, batch, copier_env, "--data", "stream_source=kafka")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "stream_source" not in recorded_answers(batch)
    assert not (batch / "src" / "orders_pipeline" / "streams").exists()

    streaming = tmp_path / "streaming"
    given = {"pipeline_type": "streaming", "source": "s3", "orchestrator": "dagster"}
    given["schedule"] = "@hourly"
    arguments = [item for key, value in given.items() for item in ("--data", f"{key}={value}")]
    result = copier_copy(template_repo, streaming, copier_env, *arguments)
    assert result.returncode == 0, result.stdout + result.stderr
    recorded = recorded_answers(streaming)
    assert "source" not in recorded
    assert (recorded["orchestrator"], recorded["schedule"]) == ("dagster", "@hourly")
    package = streaming / "src" / "orders_pipeline"
    assert not (package / "sources" / "s3_objects.py").exists()
    assert (package / "orchestration" / "upkeep_entrypoint.py").exists()


def test_an_invalid_answer_to_a_question_not_asked_is_still_refused(
    template_repo: Path, tmp_path: Path, copier_env: dict[str, str]
) -> None:
    destination = tmp_path / "project"
    result = copier_copy(
        template_repo,
        destination,
        copier_env,
        *("--data", "pipeline_type=streaming", "--data", "schedule=0 25 * * *"),
    )
    output = assert_refused(result, destination, "schedule '0 25 * * *'", "out of range 0-23")
    assert "Traceback" not in output
