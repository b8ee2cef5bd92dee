"""Every combination of choices renders a clean, exact, deterministic project (layer 2).

Fast: each combination is rendered once per module and shared by the checks; nothing here
installs or runs the rendered project (test_rendered_project.py does). The combinations
come from copier.yml through answer_space, so a new choice is rendered here without
editing this file; a new *file* must be added to its path set below (COMMON_PATHS,
BATCH_PATHS, STREAM_PATHS or a choice's), on purpose.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import answer_space
import pytest
import yaml
from import_graph import cycles, part_graph
from required_tools import require_uv
from template_fixtures import TEMPLATE_TAG, render, tree_bytes

COMBINATIONS = answer_space.combinations()
COMBINATION_IDS = [answer_space.combination_id(c) for c in COMBINATIONS]

DEFAULT_PACKAGE = "orders_pipeline"

# What every project renders, batch or streaming, reviewed by eye: no caches, bytecode,
# virtual environments, backups or editor files. Directories are implied by their files.
COMMON_PATHS = sorted(
    [
        ".copier-answers.yml",
        ".dockerignore",
        ".github/scripts/template_drift.py",
        ".github/workflows/ci.yml",
        ".github/workflows/template-update.yml",
        ".gitignore",
        ".pre-commit-config.yaml",
        "Dockerfile",
        "README.md",
        "catalog-info.yaml",
        "deploy/base/kustomization.yaml",
        "deploy/base/namespace.yaml",
        "deploy/base/networkpolicy-default-deny.yaml",
        "deploy/base/networkpolicy-egress.yaml",
        "deploy/base/params.env",
        "deploy/base/pipeline.toml",
        "deploy/base/serviceaccount.yaml",
        "deploy/overlays/dev/kustomization.yaml",
        "deploy/overlays/prod/kustomization.yaml",
        "docs/alerts.md",
        "docs/metrics.md",
        "observability/compose.yaml",
        "observability/grafana/dashboards/pipeline.json",
        "observability/grafana/provisioning/dashboards.yaml",
        "observability/kubernetes/prometheusrule.yaml",
        "observability/kustomization.yaml",
        "observability/local.env",
        "observability/prometheus/alerts.test.yml",
        "observability/prometheus/alerts.yml",
        "observability/prometheus/prometheus.yaml",
        "pipeline.toml",
        "pyproject.toml",
        "src/cli.py",
        "src/orders_pipeline/__init__.py",
        "src/orders_pipeline/build_info.json",
        "src/orders_pipeline/build_info.py",
        "src/orders_pipeline/cli.py",
        "src/orders_pipeline/composition.py",
        "src/orders_pipeline/contracts/__init__.py",
        "src/orders_pipeline/contracts/orders.py",
        "src/orders_pipeline/doctor.py",
        "src/orders_pipeline/engines/__init__.py",
        "src/orders_pipeline/transforms/orders.py",
        "src/orders_pipeline/errors.py",
        "src/orders_pipeline/orchestration/__init__.py",
        "src/orders_pipeline/pipeline/__init__.py",
        "src/orders_pipeline/pipeline/console_logs.py",
        "src/orders_pipeline/pipeline/contract.py",
        "src/orders_pipeline/pipeline/instruments.py",
        "src/orders_pipeline/pipeline/interruption.py",
        "src/orders_pipeline/pipeline/manifest.py",
        "src/orders_pipeline/pipeline/policy.py",
        "src/orders_pipeline/pipeline/progress.py",
        "src/orders_pipeline/pipeline/retention.py",
        "src/orders_pipeline/pipeline/runner.py",
        "src/orders_pipeline/pipeline/stages.py",
        "src/orders_pipeline/semantics/__init__.py",
        "src/orders_pipeline/semantics/columns.py",
        "src/orders_pipeline/semantics/conform.py",
        "src/orders_pipeline/semantics/grammar.py",
        "src/orders_pipeline/semantics/merge.py",
        "src/orders_pipeline/semantics/quarantine.py",
        "src/orders_pipeline/semantics/verdicts.py",
        "src/orders_pipeline/settings.py",
        "src/orders_pipeline/settings_errors.py",
        "src/orders_pipeline/destinations/__init__.py",
        "src/orders_pipeline/destinations/protocol.py",
        "src/orders_pipeline/destinations/staged_files.py",
        "src/orders_pipeline/destinations/upkeep_report.py",
        "src/orders_pipeline/inspection/__init__.py",
        "src/orders_pipeline/inspection/commands.py",
        "src/orders_pipeline/inspection/quarantine_report.py",
        "src/orders_pipeline/inspection/run_records.py",
        "src/orders_pipeline/loading/__init__.py",
        "src/orders_pipeline/loading/atomic_file.py",
        "src/orders_pipeline/loading/partitioned_loader.py",
        "src/orders_pipeline/loading/quarantine_file.py",
        "src/orders_pipeline/memory.py",
        "src/orders_pipeline/reachability.py",
        "src/orders_pipeline/redaction.py",
        "src/orders_pipeline/secret_settings.py",
        "src/orders_pipeline/sources/__init__.py",
        "src/orders_pipeline/sources/decoding.py",
        "src/orders_pipeline/sources/selection.py",
        "src/orders_pipeline/spool.py",
        "src/orders_pipeline/telemetry.py",
        "src/orders_pipeline/vocabulary.py",
        "src/orders_pipeline/transforms/__init__.py",
        "src/orders_pipeline/validation/__init__.py",
        "src/orders_pipeline/validation/model.py",
        "src/orders_pipeline/validation/rules.py",
        "tests/__init__.py",
        "tests/test_alert_rules.py",
        "tests/crds/monitoring.coreos.com_prometheusrules.yaml",
        "tests/test_observability_stack.py",
        "tests/test_queries_against_real_metrics.py",
        "tests/test_upkeep.py",
        "tests/destination_support.py",
        "tests/otlp_receiver.py",
        "tests/prometheus_server.py",
        "tests/test_decoding.py",
        "tests/test_rules.py",
        "tests/test_validator.py",
        "docs/value-grammar.md",
    ]
)

# What a project with a batch side adds (`batch_side` in extensions/context.py): the
# bundled sample, the Job, `run`'s entry point, the source's settings and support, and the
# suite that runs batches.
BATCH_PATHS = sorted(
    [
        "data/sample/README.md",
        "data/sample/orders-2026-10-01.csv",
        "data/sample/orders-2026-10-02.csv",
        "data/sample/orders-2026-10-03.csv",
        "deploy/base/job.yaml",
        "src/orders_pipeline/orchestration/entrypoint.py",
        "src/orders_pipeline/sources/configuration.py",
        "tests/conftest.py",
        "tests/sample_expectations.py",
        "tests/source_support.py",
        "tests/test_arrival_order.py",
        "tests/test_bad_input.py",
        "tests/test_cli.py",
        "tests/test_concurrent_readers.py",
        "tests/test_deploy_manifests.py",
        "tests/test_errors.py",
        "tests/test_incremental_merge.py",
        "tests/test_interrupt.py",
        "tests/test_kill.py",
        "tests/test_manifest_fallback.py",
        "tests/test_one_row_per_key.py",
        "tests/test_operational_policy.py",
        "tests/test_partitions.py",
        "tests/test_progress.py",
        "tests/test_redaction.py",
        "tests/test_runs_cli.py",
        "tests/test_sample_run.py",
        "tests/test_settings.py",
        "tests/test_telemetry.py",
    ]
)

# What a streaming project adds (`stream_unit`): the stream's entry point, loop, protocol
# and dead letters, its docs, the credentials module (a broker's secret references), the
# consumer's disruption budget, and the suite of the stream loop and of its manifests.
STREAM_PATHS = sorted(
    [
        "deploy/base/poddisruptionbudget.yaml",
        "docs/stream.md",
        "src/orders_pipeline/credentials.py",
        "src/orders_pipeline/loading/dead_letters.py",
        "src/orders_pipeline/orchestration/stream_entrypoint.py",
        "src/orders_pipeline/streams/__init__.py",
        "src/orders_pipeline/streams/loop.py",
        "src/orders_pipeline/streams/protocol.py",
        "tests/conftest.py",
        "tests/stream_records.py",
        "tests/stream_support.py",
        "tests/test_deploy_manifests.py",
        "tests/test_stream_loop.py",
        "tests/test_stream_operations.py",
        "tests/test_stream_pipeline.py",
    ]
)


def stream_folder(stream: str) -> list[str]:
    """The stream source's package: the same file names in every stream source."""
    return [
        f"src/orders_pipeline/streams/{stream}/{name}"
        for name in ("__init__.py", "configuration.py", "consumer.py")
    ]


# Files only the chosen stream source renders: its folder, how the consumer is deployed,
# and its tests against the real broker.
STREAM_SOURCE_PATHS: dict[str, list[str]] = {
    "kafka": [
        *stream_folder("kafka"),
        # A consumer group's members are interchangeable: a Deployment.
        "deploy/base/deployment.yaml",
        "tests/kafka_broker.py",
        "tests/test_kafka_stream.py",
    ],
    "kinesis": [
        *stream_folder("kinesis"),
        # Shards split by replica index: a StatefulSet gives each pod its ordinal.
        "deploy/base/statefulset.yaml",
        # AWS calls are retried (throttling, transient errors).
        "src/orders_pipeline/pipeline/retries.py",
        "tests/kinesalite_keepalive.js",
        "tests/kinesis_server.py",
        "tests/test_kinesis_pipeline.py",
        "tests/test_kinesis_stream.py",
    ],
}

# What `copier copy --defaults` renders: a batch project.
DEFAULT_PATHS = sorted(COMMON_PATHS + BATCH_PATHS)

# Jinja delimiters that must not survive rendering. GitHub Actions expressions `${{ ... }}`
# are the one legitimate use of `{{` in rendered files and are removed before the search.
GITHUB_EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.DOTALL)
# Other tools' own templates, copied verbatim (static files): their placeholders are removed
# before the search in these files only.
OTHER_TOOLS_PLACEHOLDERS: dict[str, re.Pattern[str]] = {
    # Prefect's base job template: `{{ variable }}` is filled in by the Prefect worker.
    "deploy/prefect/k8s-pool-base-job-template.json": re.compile(r"\{\{ [a-z_]+ \}\}"),
    # The Airflow DAG module: Airflow renders `{{ ds }}`-style macros at run time.
    f"src/{DEFAULT_PACKAGE}/orchestration/airflow_dag.py": re.compile(r"\{\{.*?\}\}"),
}
JINJA_TOKENS = ("{{", "}}", "{%", "%}", "{#")

STRUCTURED_SUFFIXES = {".yml", ".yaml", ".toml", ".json"}


# Files only the chosen engine renders: its stages, its settings, its idiom of the team's
# transforms and the unit tests of both, plus each engine's own proofs. The team-owned
# transforms keep one path whatever the engine (transforms/orders.py), so they are listed
# with the default paths.
ENGINE_EXTRA_PATHS: dict[str, list[str]] = {
    # Spark (batch only): exact source coordinates across file splits, and a real cluster.
    "spark": ["tests/test_spark_engine.py"],
    # Dask (batch only): the distributed path and exact coordinates across partitions;
    # pandas frames, the way the pandas engine holds them.
    "dask": ["src/orders_pipeline/engines/pandas_frames.py", "tests/test_dask_cluster.py"],
    # pandas: its frames, shared with Dask.
    "pandas": ["src/orders_pipeline/engines/pandas_frames.py"],
}
ENGINE_PATHS: dict[str, list[str]] = {
    engine: [
        "docs/engine.md",
        "src/orders_pipeline/engines/configuration.py",
        f"src/orders_pipeline/engines/{engine}_engine.py",
        "tests/test_transforms.py",
        *ENGINE_EXTRA_PATHS.get(engine, []),
    ]
    for engine in ("polars", "pandas", "spark", "dask")
}
# An engine's files a project renders only with a batch side.
ENGINE_BATCH_PATHS: dict[str, list[str]] = {
    # Polars: its streaming (lazy, out-of-core) path writes what the in-memory path writes.
    "polars": ["tests/test_streaming.py"],
}

# What every server source and destination shares (rendered once): the credentials and
# retry modules, and the tests' moto server (S3, and Secrets Manager for `*_secret`
# references); with a batch side, the secret canaries.
SERVER_SHARED_PATHS = [
    "src/orders_pipeline/credentials.py",
    "src/orders_pipeline/pipeline/retries.py",
    "tests/s3_server.py",
]
SERVER_BATCH_TEST_PATHS = ["tests/test_secret_canaries.py"]
# Files an S3 source and an S3 destination share (rendered once when both are chosen): the
# boto3 client.
S3_SHARED_PATHS = ["src/orders_pipeline/s3_client.py"]
# And what a PostgreSQL source and destination share: the server settings, connection and
# error classes, and the tests' throwaway cluster.
POSTGRES_SHARED_PATHS = ["src/orders_pipeline/postgres_connection.py", "tests/postgres_server.py"]
# What both Delta Lake destinations share: the table's commit and upkeep, and how tests read
# it back.
DELTA_SHARED_PATHS = [
    "docs/destination.md",
    "src/orders_pipeline/settings_migration.py",
    "src/orders_pipeline/destinations/delta_table.py",
    "src/orders_pipeline/destinations/delta_upkeep.py",
    "tests/delta_support.py",
    "tests/test_delta_merge.py",
    "tests/test_delta_upkeep.py",
]


def destination_folder(destination: str) -> list[str]:
    """The destination's package: the same file names in every destination."""
    return [
        f"src/orders_pipeline/destinations/{destination}/{name}"
        for name in ("__init__.py", "configuration.py", "table.py", "upkeep.py")
    ]


# Files only the chosen destination renders: its folder (the same files for every
# destination), and for a server destination the credentials and retry modules and its docs.
DESTINATION_PATHS: dict[str, list[str]] = {
    "local": [*DELTA_SHARED_PATHS, *destination_folder("local")],
    "s3": [
        "docs/destination.md",
        *SERVER_SHARED_PATHS,
        *S3_SHARED_PATHS,
        *DELTA_SHARED_PATHS,
        *destination_folder("s3"),
    ],
    "postgres": [
        "docs/destination.md",
        *SERVER_SHARED_PATHS,
        *POSTGRES_SHARED_PATHS,
        *destination_folder("postgres"),
        "tests/test_postgres_upkeep.py",
    ],
}
# A destination's files a project renders only with a batch side: its tests against the
# real server (and the secret canaries for a server destination).
DESTINATION_BATCH_PATHS: dict[str, list[str]] = {
    "local": ["tests/test_destination.py"],
    "s3": [*SERVER_BATCH_TEST_PATHS, "tests/test_destination.py"],
    "postgres": [*SERVER_BATCH_TEST_PATHS, "tests/test_destination.py"],
}

# Files only the chosen source renders: how it finds its input, and for a server source the
# credentials and retry modules, its docs and its tests against the real server.
SOURCE_PATHS: dict[str, list[str]] = {
    "local": ["src/orders_pipeline/sources/local_files.py"],
    "postgres": [
        "docs/source.md",
        *SERVER_SHARED_PATHS,
        *SERVER_BATCH_TEST_PATHS,
        *POSTGRES_SHARED_PATHS,
        "src/orders_pipeline/sources/postgres_table.py",
        "tests/test_postgres_source.py",
    ],
    "s3": [
        "docs/source.md",
        *SERVER_SHARED_PATHS,
        *SERVER_BATCH_TEST_PATHS,
        *S3_SHARED_PATHS,
        "src/orders_pipeline/sources/s3_objects.py",
        "tests/test_s3_source.py",
    ],
}

# What Prefect renders for either pipeline type: its work pool, its deployments' file, the
# flow tests' local API.
PREFECT_PATHS = [
    "deploy/prefect/k8s-pool-base-job-template.json",
    "docs/orchestration.md",
    "prefect.yaml",
    "tests/prefect_flows/__init__.py",
    "tests/prefect_flows/conftest.py",
]

# Files only the chosen orchestrator renders (its adapter, its proof, its docs).
ORCHESTRATOR_PATHS: dict[str, list[str]] = {
    "airflow": [
        "dags/orders_pipeline_dag.py",
        "docs/orchestration.md",
        "src/orders_pipeline/orchestration/airflow_dag.py",
        "tests/test_airflow_dag.py",
    ],
    "dagster": [
        "docs/orchestration.md",
        "src/orders_pipeline/orchestration/dagster_definitions.py",
        "src/orders_pipeline/orchestration/dagster_retries.py",
        "tests/test_dagster_definitions.py",
    ],
    "prefect": [
        *PREFECT_PATHS,
        "flows/orders_pipeline_flows.py",
        "tests/prefect_flows/test_deployment.py",
        "tests/prefect_flows/test_flows.py",
        "tests/prefect_flows/test_kubernetes_job.py",
    ],
    "step_functions": [
        "docs/orchestration.md",
        "statemachine/template.yaml",
        "tests/state_machine_support.py",
        "tests/test_state_machine.py",
    ],
}

# Files only the chosen orchestrator renders for a streaming pipeline: the table upkeep it
# schedules (its adapter, its proof, its docs), beside the upkeep tests' shared support.
STREAM_ORCHESTRATOR_PATHS: dict[str, list[str]] = {
    "airflow": [
        "dags/orders_pipeline_upkeep_dag.py",
        "docs/orchestration.md",
        "src/orders_pipeline/orchestration/airflow_upkeep_dag.py",
        "tests/test_airflow_upkeep_dag.py",
    ],
    # The same names as the batch ones; the definitions and their tests are the upkeep's.
    "dagster": ORCHESTRATOR_PATHS["dagster"],
    "prefect": [
        *PREFECT_PATHS,
        "flows/orders_pipeline_upkeep_flow.py",
        "tests/prefect_flows/test_upkeep_deployment.py",
        "tests/prefect_flows/test_upkeep_flow.py",
    ],
    "step_functions": [
        "docs/orchestration.md",
        "statemachine/template.yaml",
        "tests/state_machine_support.py",
        "tests/test_state_machine.py",
    ],
}
# Every streaming project renders these with its orchestrator.
STREAM_UPKEEP_PATHS = [
    "src/orders_pipeline/orchestration/upkeep_entrypoint.py",
    "tests/upkeep_support.py",
]


def expected_paths(combination: answer_space.Combination, package: str) -> set[str]:
    """The exact set of files `combination` renders, with the package named `package`.

    Every combination renders COMMON_PATHS plus the files of its engine (ENGINE_PATHS) and
    of its destination (DESTINATION_PATHS); then its side's files. A batch pipeline adds
    BATCH_PATHS and the batch files of its engine and destination (ENGINE_BATCH_PATHS,
    DESTINATION_BATCH_PATHS), its orchestrator's (ORCHESTRATOR_PATHS) and its source's
    (SOURCE_PATHS); a streaming pipeline adds STREAM_PATHS, its stream source's
    (STREAM_SOURCE_PATHS) and its orchestrator's upkeep (STREAM_ORCHESTRATOR_PATHS,
    STREAM_UPKEEP_PATHS). A file two of them render (credentials.py) is rendered once.
    """
    engine, destination = combination["engine"], combination["destination"]
    paths = COMMON_PATHS + ENGINE_PATHS[engine] + DESTINATION_PATHS[destination]
    if answer_space.is_streaming(combination):
        paths += (
            STREAM_PATHS
            + STREAM_SOURCE_PATHS[combination["stream_source"]]
            + STREAM_ORCHESTRATOR_PATHS[combination["orchestrator"]]
            + STREAM_UPKEEP_PATHS
        )
    else:
        paths += (
            BATCH_PATHS
            + ENGINE_BATCH_PATHS.get(engine, [])
            + DESTINATION_BATCH_PATHS[destination]
            + ORCHESTRATOR_PATHS[combination["orchestrator"]]
            + SOURCE_PATHS[combination["source"]]
        )
    # The package's folder and files named after it (flows/<package>_flows.py).
    return {path.replace(DEFAULT_PACKAGE, package) for path in paths}


def assert_exact_paths(actual: set[str], expected: set[str]) -> None:
    """Fail listing every unexpected and every missing path."""
    unexpected, missing = sorted(actual - expected), sorted(expected - actual)
    assert not unexpected, "rendered files nobody expected:\n  " + "\n  ".join(unexpected)
    assert not missing, "expected files not rendered:\n  " + "\n  ".join(missing)


def text_files(tree: dict[str, bytes]) -> dict[str, str]:
    """The files of `tree` that decode as UTF-8 (data samples like Parquet are skipped)."""
    texts: dict[str, str] = {}
    for path, content in tree.items():
        try:
            texts[path] = content.decode("utf-8")
        except UnicodeDecodeError:
            continue
    return texts


# Each combination's checks on one worker, which renders it once; `uv lock` makes them ~10 s.
COMBINATION_PARAMS = [
    pytest.param(
        combination,
        id=combination_id,
        marks=[pytest.mark.xdist_group(f"render-{combination_id}"), pytest.mark.cost(10)],
    )
    for combination, combination_id in zip(COMBINATIONS, COMBINATION_IDS, strict=True)
]


@pytest.fixture(scope="module", params=COMBINATION_PARAMS)
def combination(request: pytest.FixtureRequest) -> dict[str, str]:
    """One combination of choices from copier.yml."""
    chosen: dict[str, str] = request.param
    return chosen


@pytest.fixture(scope="module")
def rendered(
    combination: dict[str, str], template_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The project `combination` renders, shared by every check in this module."""
    return render(template_repo, tmp_path_factory.mktemp("render") / "project", combination)


@pytest.fixture(scope="module")
def rendered_tree(rendered: Path) -> dict[str, bytes]:
    """The rendered project's files as relative path -> bytes."""
    return tree_bytes(rendered)


# ----------------------------------------------------------------------------
# The answer space itself
# ----------------------------------------------------------------------------


def test_default_combination_is_the_questionnaire_contract_default() -> None:
    contract_defaults = {
        "pipeline_type": "batch",
        "engine": "polars",
        "orchestrator": "airflow",
        "source": "local",
        "destination": "local",
    }
    default = answer_space.default_combination()
    assert {key: default.get(key) for key in contract_defaults} == contract_defaults
    assert COMBINATIONS[0] == default


def test_combination_ids_name_each_choice_in_copier_yml_order() -> None:
    assert answer_space.combination_id(answer_space.default_combination()) == (
        "pipeline_type:batch-engine:polars-orchestrator:airflow-source:local-destination:local"
    )


def test_combinations_exercise_every_offered_value_of_every_choice_question() -> None:
    offered = set(answer_space.iter_choice_values())
    exercised = {item for combination in COMBINATIONS for item in combination.items()}
    assert exercised == offered


def test_pairwise_covering_of_a_large_space_covers_every_pair_with_few_combinations() -> None:
    # A space the size DESIGN.md promises (3 pipeline types x 4 engines x 4 orchestrators
    # x 3 sources x 3 destinations = 432 combinations) must not be multiplied out.
    space = {
        "pipeline_type": ("batch", "streaming", "hybrid"),
        "engine": ("polars", "pandas", "spark", "dask"),
        "orchestrator": ("airflow", "dagster", "prefect", "step_functions"),
        "source": ("local", "s3", "postgres"),
        "destination": ("local", "s3", "postgres"),
    }
    product = [
        dict(zip(space, values, strict=True)) for values in itertools.product(*space.values())
    ]
    covering = answer_space.pairwise_covering(product)
    needed = {
        ((a, va), (b, vb)) for a, b in _key_pairs(space) for va in space[a] for vb in space[b]
    }
    covered = {((a, c[a]), (b, c[b])) for c in covering for a, b in _key_pairs(space)}
    assert needed <= covered
    assert len(covering) <= 24, f"{len(covering)} combinations for pairwise coverage"


def _key_pairs(space: dict[str, tuple[str, ...]]) -> list[tuple[str, str]]:
    """Every pair of keys of `space`, sorted within the pair (as answer_space pairs them)."""
    keys = sorted(space)
    return [(a, b) for i, a in enumerate(keys) for b in keys[i + 1 :]]


def test_unsupported_combinations_are_refused_by_the_predicate() -> None:
    default = answer_space.default_combination()
    assert answer_space.is_supported(default)
    assert not answer_space.is_supported({**default, "engine": "not-an-offered-engine"})
    streaming = {"pipeline_type": "streaming", "stream_source": "kafka", "destination": "local"}
    assert answer_space.is_supported({**streaming, "engine": "pandas"})
    for engine in ("spark", "dask"):
        assert answer_space.is_supported({**default, "engine": engine})
        assert not answer_space.is_supported({**streaming, "engine": engine})


def test_streaming_combinations_carry_only_the_questions_a_streaming_project_is_asked() -> None:
    streaming = [c for c in COMBINATIONS if answer_space.is_streaming(c)]
    assert {c["engine"] for c in streaming} == {"polars", "pandas"}
    assert {c["destination"] for c in streaming} == {"local", "s3", "postgres"}
    orchestrators = set(answer_space.QUESTIONS["orchestrator"].choices)
    assert {c["orchestrator"] for c in streaming} == orchestrators  # each runs the upkeep
    for combination in streaming:
        assert set(combination) == {
            "pipeline_type",
            "stream_source",
            "engine",
            "orchestrator",
            "destination",
        }
    assert all("stream_source" not in c for c in COMBINATIONS if not answer_space.is_streaming(c))
    assert not any(answer_space.is_streaming(c) for c in answer_space.installed_combinations())


# ----------------------------------------------------------------------------
# Every combination
# ----------------------------------------------------------------------------


def test_renders_exactly_the_expected_files(
    combination: dict[str, str], rendered_tree: dict[str, bytes]
) -> None:
    assert_exact_paths(set(rendered_tree), expected_paths(combination, DEFAULT_PACKAGE))


def test_no_jinja_is_left_in_any_rendered_text_file(rendered_tree: dict[str, bytes]) -> None:
    leftovers = []
    for path, text in text_files(rendered_tree).items():
        stripped = GITHUB_EXPRESSION.sub("", text)
        if path in OTHER_TOOLS_PLACEHOLDERS:
            stripped = OTHER_TOOLS_PLACEHOLDERS[path].sub("", stripped)
        for number, line in enumerate(stripped.splitlines(), start=1):
            if any(token in line for token in JINJA_TOKENS):
                leftovers.append(f"{path}:{number}: {line.strip()}")
    assert leftovers == []


def test_every_yaml_toml_and_json_file_parses(rendered_tree: dict[str, bytes]) -> None:
    parsed = []
    for path, content in rendered_tree.items():
        suffix = Path(path).suffix
        if suffix not in STRUCTURED_SUFFIXES:
            continue
        text = content.decode("utf-8")
        try:
            if suffix == ".toml":
                tomllib.loads(text)
            elif suffix == ".json":
                json.loads(text)
            else:
                list(yaml.safe_load_all(text))
        except (ValueError, yaml.YAMLError) as error:  # TOMLDecodeError is a ValueError
            pytest.fail(f"{path} does not parse: {error}")
        parsed.append(path)
    assert {"pyproject.toml", "catalog-info.yaml", ".copier-answers.yml"} <= set(parsed)


def test_no_part_of_the_package_imports_a_part_that_imports_it_back(
    rendered: Path, combination: dict[str, str]
) -> None:
    # Parts are subpackages and top-level modules (tests/import_graph.py); the team's
    # contracts reach template code through the composition only.
    graph = part_graph(rendered / "src" / DEFAULT_PACKAGE)
    assert cycles(graph) == [], graph
    assert sorted(part for part, imports in graph.items() if "contracts" in imports) == [
        "composition"
    ], graph


def test_rendering_twice_gives_byte_identical_trees(
    combination: dict[str, str],
    template_repo: Path,
    rendered_tree: dict[str, bytes],
    tmp_path: Path,
) -> None:
    again = tree_bytes(render(template_repo, tmp_path / "again", combination))
    assert sorted(again) == sorted(rendered_tree)
    differing = [path for path in rendered_tree if again[path] != rendered_tree[path]]
    assert differing == []


@pytest.mark.slow
def test_dependencies_of_the_combination_resolve(rendered: Path, tmp_path: Path) -> None:
    # Layer 3 installs one combination per offered value, not every pair; this is what
    # pairs of choices could break: an engine's and an orchestrator's requirements that
    # cannot be installed together. Resolution only (uv lock), against the package index.
    project = shutil.copytree(rendered, tmp_path / "project")  # the shared tree stays as rendered
    environment = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    result = subprocess.run(
        [require_uv(), "lock", "--quiet"],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (project / "uv.lock").is_file()


def test_answers_file_records_every_question_and_the_template_version(
    combination: dict[str, str], rendered: Path
) -> None:
    answers = yaml.safe_load((rendered / ".copier-answers.yml").read_text(encoding="utf-8"))
    asked = {
        key
        for key, question in answer_space.QUESTIONS.items()
        if answer_space.is_asked(question, answers)
    }
    assert sorted(asked - set(answers)) == [], "questions missing from .copier-answers.yml"
    assert {key: answers[key] for key in combination} == combination
    assert answers["_commit"] == TEMPLATE_TAG


def test_another_project_name_renders_its_own_package_and_no_default_name(
    combination: dict[str, str], template_repo: Path, tmp_path: Path
) -> None:
    project = render(
        template_repo, tmp_path / "invoice-sync", {**combination, "project_name": "Invoice Sync"}
    )
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert (answers["project_slug"], answers["package_name"]) == ("invoice-sync", "invoice_sync")
    tree = tree_bytes(project)
    # "orders" alone is the dataset and stays; the default project's identity must not.
    for default_identity in (DEFAULT_PACKAGE, "orders-pipeline", "Orders Pipeline"):
        leaks = [path for path, content in tree.items() if default_identity.encode() in content]
        leaks += [path for path in tree if default_identity in path]
        assert leaks == [], f"{default_identity!r} left in a project named Invoice Sync"
    assert_exact_paths(set(tree), expected_paths(combination, "invoice_sync"))
