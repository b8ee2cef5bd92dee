"""The Kubernetes Job a Prefect worker creates for a flow run of this pipeline.

prefect-kubernetes (the worker's own code) renders the Job from the pool's base job template
(deploy/prefect/) and prefect.yaml's job variables, as the worker does before it submits it.
The assertions are what the cluster needs: the image's ENTRYPOINT replaced by Prefect's
command, Pod Security `restricted`, the labels the network policies select, the config.
prefect-kubernetes ships no type information (no py.typed), hence the one `type: ignore`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from uuid import uuid4

import pytest
import yaml
from prefect.client.schemas.objects import FlowRun
from prefect_kubernetes.worker import (  # type: ignore[import-untyped]
    KubernetesWorkerJobConfiguration,
)

from ..conftest import PROJECT_ROOT

# Runs the pipeline end to end: outside the fast loop, `uv run pytest -m "not slow"`.
pytestmark = pytest.mark.slow

BASE_JOB_TEMPLATE = PROJECT_ROOT / "deploy" / "prefect" / "k8s-pool-base-job-template.json"
PREFECT_YAML = PROJECT_ROOT / "prefect.yaml"

Manifest = dict[str, Any]


def job_variables(deployment: str) -> dict[str, Any]:
    """The job variables prefect.yaml gives `deployment`."""
    parsed = yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))
    (found,) = [item for item in parsed["deployments"] if item["name"] == deployment]
    variables: dict[str, Any] = found["work_pool"]["job_variables"]
    return variables


def worker_job(deployment: str) -> Manifest:
    """The Job manifest the worker would submit for a flow run of `deployment`."""
    template = json.loads(BASE_JOB_TEMPLATE.read_text(encoding="utf-8"))
    configuration = asyncio.run(
        KubernetesWorkerJobConfiguration.from_template_and_values(
            template, job_variables(deployment), client=None
        )
    )
    configuration.prepare_for_flow_run(FlowRun(flow_id=uuid4(), name="steady-otter"))
    manifest: Manifest = configuration.job_manifest
    return manifest


@pytest.fixture(scope="module", params=["scheduled", "backfill"])
def job(request: pytest.FixtureRequest, prefect_api: str) -> Manifest:
    """The worker's Job for each deployment (rendering it asks Prefect's API for nothing,
    but opens a client: the temporary API keeps it from starting a server of its own)."""
    return worker_job(str(request.param))


def test_the_pod_runs_prefects_command_instead_of_the_image_entrypoint(job: Manifest) -> None:
    (container,) = job["spec"]["template"]["spec"]["containers"]

    # `command` replaces the image's ENTRYPOINT (python -m src.cli); the worker puts its own
    # command in `args`.
    assert container["command"] + container["args"] == [
        "/usr/bin/env",
        "prefect",
        "flow-run",
        "execute",
    ]


def test_the_pod_meets_the_restricted_pod_security_standard(job: Manifest) -> None:
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]

    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["automountServiceAccountToken"] is False


def test_the_job_runs_in_the_pipeline_namespace_with_its_labels_and_account(
    job: Manifest,
) -> None:
    variables = job_variables("scheduled")
    pod = job["spec"]["template"]

    assert job["metadata"]["namespace"] == variables["namespace"]
    assert pod["spec"]["serviceAccountName"] == variables["service_account_name"]
    assert pod["spec"]["containers"][0]["image"] == variables["image"]
    # The network policies in deploy/base select the pipeline's pods by this label.
    app_label = variables["labels"]["app.kubernetes.io/name"]
    assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == app_label
    # Prefect retries transient errors in the task; Kubernetes must not rerun the pod too.
    assert job["spec"]["backoffLimit"] == 0


def test_every_path_the_run_writes_or_reads_is_on_a_volume(job: Manifest) -> None:
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}

    assert env["PIPELINE_CONFIG"] == "/etc/pipeline/pipeline.toml"
    config = volumes[mounts["/etc/pipeline"]]
    assert config["configMap"]["name"] == job_variables("scheduled")["config_map"]
    assert env["PREFECT_HOME"].startswith("/tmp/")
    assert "emptyDir" in volumes[mounts["/tmp"]]
    assert "/app/data" in mounts
