"""The local stack and the Kubernetes monitoring resources are valid for their own tools: the
compose file against the Compose specification's schema, the Prometheus config by promtool,
the Kustomize build's ConfigMap by the Kubernetes API schemas and its PrometheusRule by the
prometheus-operator CRD's schema, strictly (and its rules by promtool). In CI (`CI=true`) a missing
tool fails the suite, never skips it."""

from __future__ import annotations

import json
import subprocess
import sysconfig
from pathlib import Path
from typing import Any

import pytest
import yaml

from .prometheus_server import promtool

OBSERVABILITY = Path(__file__).resolve().parent.parent / "observability"
COMPOSE = OBSERVABILITY / "compose.yaml"
DASHBOARD = OBSERVABILITY / "grafana" / "dashboards" / "pipeline.json"
RULES = OBSERVABILITY / "prometheus" / "alerts.yml"
CRD = Path(__file__).resolve().parent / "crds" / "monitoring.coreos.com_prometheusrules.yaml"
# The oldest and the newest Kubernetes the deploy manifests are checked against.
KUBERNETES_VERSIONS = ("1.33.0", "1.37.0")


def dev_tool(name: str) -> str:
    """Path of `name`, installed in this environment by the dev dependencies."""
    path = Path(sysconfig.get_path("scripts")) / name
    if not path.is_file():
        pytest.fail(f"{name} is not installed: run `uv sync` (it is a dev dependency)")
    return str(path)


def run(*command: str) -> subprocess.CompletedProcess[str]:
    """Run `command`, capturing its output."""
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def kustomized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """`kubectl kustomize observability`, by kind."""
    built = run(dev_tool("kubectl"), "kustomize", str(OBSERVABILITY))
    assert built.returncode == 0, built.stderr
    folder = tmp_path_factory.mktemp("observability")
    (folder / "built.yaml").write_text(built.stdout, encoding="utf-8")
    documents = [document for document in yaml.safe_load_all(built.stdout) if document]
    by_kind = {document["kind"]: document for document in documents}
    assert sorted(by_kind) == ["ConfigMap", "PrometheusRule"] and len(documents) == 2
    by_kind["_file"] = {"path": str(folder / "built.yaml")}
    return by_kind


def test_the_compose_file_follows_the_compose_specification() -> None:
    checked = run(
        dev_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_compose_file_with_a_misspelt_key_is_refused(tmp_path: Path) -> None:
    broken = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    broken["services"]["lgtm"]["volumez"] = broken["services"]["lgtm"].pop("volumes")
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")

    checked = run(
        dev_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)
    )

    assert checked.returncode != 0


def test_every_file_the_stack_mounts_exists_and_its_provisioning_points_at_the_mount() -> None:
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    mounts = dict(
        volume.removesuffix(":ro").split(":", 1)
        for volume in compose["services"]["lgtm"]["volumes"]
    )
    for source in mounts:
        assert (COMPOSE.parent / source).exists(), source
    provisioning = yaml.safe_load(
        (OBSERVABILITY / "grafana" / "provisioning" / "dashboards.yaml").read_text(encoding="utf-8")
    )
    (provider,) = provisioning["providers"]
    assert provider["options"]["path"] == mounts["./grafana/dashboards"]
    assert json.loads(DASHBOARD.read_text(encoding="utf-8"))["uid"]
    # The rules sit beside the Prometheus config inside the container, as they do here.
    config_target = Path(mounts["./prometheus/prometheus.yaml"])
    assert Path(mounts["./prometheus/alerts.yml"]) == config_target.parent / "alerts.yml"


def test_promtool_accepts_the_local_prometheus_config_and_its_rules() -> None:
    checked = run(
        promtool(), "check", "config", str(OBSERVABILITY / "prometheus" / "prometheus.yaml")
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


def test_the_local_env_points_the_pipeline_at_the_stacks_otlp_port() -> None:
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    published = {port.split(":")[1] for port in compose["services"]["lgtm"]["ports"]}
    lines = (OBSERVABILITY / "local.env").read_text(encoding="utf-8").splitlines()
    variables = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    endpoint = variables["OTEL_EXPORTER_OTLP_ENDPOINT"]
    assert endpoint.startswith("http://localhost:") and endpoint.rsplit(":", 1)[1] in published
    assert variables["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_dashboard_configmap_matches_the_kubernetes_api_schema(
    version: str, kustomized: dict[str, dict[str, Any]]
) -> None:
    configmap = kustomized["ConfigMap"]
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert configmap["data"]["pipeline.json"] == DASHBOARD.read_text(encoding="utf-8")
    checked = run(
        dev_tool("kubernetes-validate"),
        "--strict",
        "--quiet",
        "-k",
        version,
        kustomized["_file"]["path"],
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def strict(schema: Any) -> Any:
    """The CRD's schema refusing fields it does not define, as `kubectl apply
    --validate=strict` does (the API server would silently drop them)."""
    if isinstance(schema, dict):
        tightened = {key: strict(value) for key, value in schema.items()}
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and pattern.startswith("^(?i)"):
            # Kubernetes' (Go's) regexes take inline flags anywhere, Python's at the start.
            tightened["pattern"] = "(?i)^" + pattern.removeprefix("^(?i)")
        if "properties" in schema and "additionalProperties" not in schema:
            tightened["additionalProperties"] = False
        return tightened
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


def check_against_the_crd(
    resource: dict[str, Any], folder: Path
) -> subprocess.CompletedProcess[str]:
    """check-jsonschema's verdict on `resource` against the PrometheusRule CRD's v1 schema."""
    (crd,) = [
        document for document in yaml.safe_load_all(CRD.read_text(encoding="utf-8")) if document
    ]
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    schema = folder / "prometheusrule.schema.json"
    schema.write_text(json.dumps(strict(version["schema"]["openAPIV3Schema"])), encoding="utf-8")
    instance = folder / "prometheusrule.json"
    instance.write_text(json.dumps(resource), encoding="utf-8")
    return run(
        dev_tool("check-jsonschema"),
        "--regex-variant",
        "python",
        "--schemafile",
        str(schema),
        str(instance),
    )


def test_the_prometheusrule_matches_the_crd_and_holds_the_rules(
    kustomized: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    resource = kustomized["PrometheusRule"]
    assert resource["apiVersion"] == "monitoring.coreos.com/v1"
    checked = check_against_the_crd(resource, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert resource["spec"] == yaml.safe_load(RULES.read_text(encoding="utf-8"))
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump(resource["spec"]), encoding="utf-8")
    checked = run(promtool(), "check", "rules", str(rules))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_misspelt_rule_field_is_refused_by_the_crd_schema(
    kustomized: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    resource = json.loads(json.dumps(kustomized["PrometheusRule"]))
    rule = resource["spec"]["groups"][0]["rules"][0]
    rule["forr"] = rule.pop("for")

    assert check_against_the_crd(resource, tmp_path).returncode != 0
