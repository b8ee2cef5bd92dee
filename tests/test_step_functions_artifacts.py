"""The Step Functions artifacts of a project rendered with orchestrator=step_functions (layer 4).

The state machine definition in statemachine/template.yaml must be accepted by
`asl-validator` (npm, pinned in tests/asl/, installed by tests/install-node-tools.sh), and the
schedule must be the `schedule` answer in EventBridge Scheduler syntax. The rendered
project's own tests lint the CloudFormation template (cfn-lint) and execute the state
machine (moto); this file checks what needs the template repo: the external validator and
how different answers render.

Without node or the pinned packages the validator tests fail in CI (`CI=true`) and are
skipped elsewhere with the install command.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from required_tools import tool_unavailable
from template_fixtures import render

ASL_DIR = Path(__file__).resolve().parent / "asl"
ASL_VALIDATOR = ASL_DIR / "node_modules" / ".bin" / "asl-validator"
INSTALL_SCRIPT = "tests/install-node-tools.sh asl"
VALIDATOR_TIMEOUT_S = 60

# Values CloudFormation puts in for the DefinitionSubstitutions.
SUBSTITUTIONS = {
    "ClusterArn": "arn:aws:ecs:eu-west-1:123456789012:cluster/orders-pipeline",
    "TaskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/orders-pipeline:1",
    "SubnetIds": "subnet-0a,subnet-0b",
    "SecurityGroupIds": "sg-0a",
    "FailureTopicArn": "arn:aws:sns:eu-west-1:123456789012:orders-pipeline-failures",
}


def require_asl_validator() -> None:
    """Fail (in CI) or skip (elsewhere) when asl-validator cannot run."""
    reason = None
    if shutil.which("node") is None:
        reason = f"node is not on PATH: install Node.js 20+, then run {INSTALL_SCRIPT}"
    elif not ASL_VALIDATOR.exists():
        reason = (
            f"asl-validator is not installed under tests/asl/node_modules: run {INSTALL_SCRIPT}"
        )
    if reason is None:
        return
    tool_unavailable(reason)


def validate_asl(definition: dict[str, Any], directory: Path) -> tuple[int, str]:
    """Run asl-validator on `definition`; return (exit code, output)."""
    require_asl_validator()
    path = directory / "definition.asl.json"
    path.write_text(json.dumps(definition, indent=2), encoding="utf-8")
    result = subprocess.run(
        [str(ASL_VALIDATOR), "--json-path", str(path)],
        cwd=ASL_DIR,
        capture_output=True,
        text=True,
        timeout=VALIDATOR_TIMEOUT_S,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


def load_cloudformation(project: Path) -> dict[str, Any]:
    """statemachine/template.yaml (long-form intrinsics: plain YAML)."""
    text = (project / "statemachine" / "template.yaml").read_text(encoding="utf-8")
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def deployed_definition(template: dict[str, Any]) -> dict[str, Any]:
    """The state machine definition with its placeholders filled in, as deployed."""
    properties = template["Resources"]["StateMachine"]["Properties"]
    assert set(properties["DefinitionSubstitutions"]) == set(SUBSTITUTIONS)
    text = json.dumps(properties["Definition"])
    for name, value in SUBSTITUTIONS.items():
        text = text.replace("${" + name + "}", value)
    assert "${" not in text
    return json.loads(text)


@pytest.fixture(scope="module")
def step_functions_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project rendered with orchestrator=step_functions and the default answers."""
    destination = tmp_path_factory.mktemp("step-functions") / "project"
    return render(template_repo, destination, {"orchestrator": "step_functions"})


def test_asl_validator_accepts_the_state_machine(
    step_functions_project: Path, tmp_path: Path
) -> None:
    definition = deployed_definition(load_cloudformation(step_functions_project))

    returncode, output = validate_asl(definition, tmp_path)

    assert returncode == 0, output


def test_asl_validator_rejects_a_state_machine_with_a_dangling_transition(
    step_functions_project: Path, tmp_path: Path
) -> None:
    definition = deployed_definition(load_cloudformation(step_functions_project))
    definition["States"]["WaitBeforeRetry"]["Next"] = "NoSuchState"

    returncode, output = validate_asl(definition, tmp_path)

    assert returncode != 0
    assert "NoSuchState" in output


def test_the_state_machine_runs_the_pipeline_container_for_the_partition(
    step_functions_project: Path,
) -> None:
    template = load_cloudformation(step_functions_project)
    definition = deployed_definition(template)
    task = definition["States"]["RunPipeline"]
    (container,) = template["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]

    assert definition["StartAt"] == "ResolvePartition"
    assert task["Resource"] == "arn:aws:states:::ecs:runTask.sync"
    assert task["Parameters"]["LaunchType"] == "FARGATE"
    (override,) = task["Parameters"]["Overrides"]["ContainerOverrides"]
    assert override["Name"] == container["Name"]
    assert override["Command.$"] == "States.Array('run', '--partition', $.partition)"
    assert [catch["Next"] for catch in task["Catch"]] == ["ClassifyFailure"]


@pytest.mark.parametrize(
    ("schedule", "expression"),
    [
        ("@hourly", "cron(0 * * * ? *)"),
        ("0 3 * * 1-5", "cron(0 3 ? * MON-FRI *)"),
        ("*/30 6-18 1,15 * *", "cron(0/30 6-18 1,15 * ? *)"),
    ],
)
def test_the_schedule_answer_is_rendered_in_eventbridge_scheduler_syntax(
    template_repo: Path, tmp_path: Path, schedule: str, expression: str
) -> None:
    project = render(
        template_repo,
        tmp_path / "project",
        {"orchestrator": "step_functions", "schedule": schedule},
    )

    rendered = load_cloudformation(project)["Resources"]["Schedule"]["Properties"]

    assert rendered["ScheduleExpression"] == expression
    assert rendered["ScheduleExpressionTimezone"] == "UTC"
