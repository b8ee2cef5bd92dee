"""The Backstage scaffolder module in backstage/, tested through Backstage's own code.

One jest run (backstage/test/) covers two layers:
- the `platform:copier:copy` action under `createMockActionContext`, rendering this
  template with the real copier (refusals, allow-list, path escapes, nothing left behind);
- the real Template entity of catalog-info.yaml through a real scaffolder backend
  (`startTestBackend`) and its `POST /v2/dry-run` API, for answer sets derived here from
  copier.yml: the rendered tree must equal a `copier copy` with the same answers, and
  values the form refuses must come back as HTTP 400 before any step.

jest renders with this environment's copier and a tagged snapshot of the working tree
(`template_repo`), so it tests exactly what is on disk.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import answer_space
import pytest
from required_tools import tool_unavailable

REPO_ROOT = Path(__file__).resolve().parent.parent
MODULE_DIR = REPO_ROOT / "backstage"
INSTALL = "bash tests/install-node-tools.sh"
# ts-jest compiles, then two copier renders (the dry run's and the reference) of ~1-4 s
# each per answer set on a loaded machine.
JEST_TIMEOUT_S = 1200
# Form-only fields: the repository picker feeds publish:github, not copier.
FORM_ONLY = {"repoUrl": "github.com?owner=example-org&repo={slug}"}


def answer_sets() -> list[dict[str, Any]]:
    """A pairwise set of answers (every choice copier.yml offers, and every pair of choices
    of two questions, in some set; batch and streaming both), with free text that varies
    between them: the derived slug and package name left empty in some (the form's
    default) and given in others."""
    chosen = answer_space.combinations()
    sets = []
    for index, combination in enumerate(chosen):
        slug = f"pipeline-{index}"
        answers = {
            **combination,
            "project_name": f"Pipeline {index}",
            "description": f"Answer set {index}: a=b, 'quoted' and $(not a command).",
            "owner": "group:default/data-eng" if index % 2 else "user:default/jane.doe",
            "schedule": "@daily" if index % 2 else f"{index} 3 * * 1-5",
        }
        if index % 2:
            answers |= {"project_slug": slug, "package_name": slug.replace("-", "_")}
        values = {**answers, **{key: value.format(slug=slug) for key, value in FORM_ONLY.items()}}
        sets.append(
            {"id": answer_space.combination_id(combination), "values": values, "answers": answers}
        )
    return sets


def require_module_install() -> str:
    """Path to npx; fail in CI and skip elsewhere when node or the npm packages are missing."""
    npx = shutil.which("npx")
    if npx is None:
        tool_unavailable(
            f"npx is not on PATH: install Node.js 20+, then run {INSTALL} backstage-module"
        )
    if not (MODULE_DIR / "node_modules" / ".bin" / "jest").exists():
        tool_unavailable(f"backstage/node_modules is not installed: run {INSTALL} backstage-module")
    return npx


@pytest.mark.slow
@pytest.mark.cost(240)
def test_module_and_template_pass_their_jest_suite_through_backstage(
    template_repo: Path, tmp_path: Path
) -> None:
    npx = require_module_install()
    sets = answer_sets()
    assert {answer_set["values"]["pipeline_type"] for answer_set in sets} == {"batch", "streaming"}
    sets_file = tmp_path / "answer-sets.json"
    sets_file.write_text(json.dumps(sets), encoding="utf-8")
    results = tmp_path / "jest-results.json"
    env = {
        **os.environ,
        "COPIER_COMMAND": str(Path(sys.executable).parent / "copier"),
        "GOLDEN_PATH_TEMPLATE": str(template_repo),
        "GOLDEN_PATH_ANSWER_SETS": str(sets_file),
        "TMPDIR": str(tmp_path),
    }
    run = subprocess.run(
        [npx, "--no-install", "jest", "--ci", "--json", f"--outputFile={results}"],
        cwd=MODULE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=JEST_TIMEOUT_S,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-20000:]
    report = json.loads(results.read_text(encoding="utf-8"))
    passed = [
        test["fullName"]
        for suite in report["testResults"]
        for test in suite["assertionResults"]
        if test["status"] == "passed"
    ]
    # Every answer set ran through the dry-run API (a test jest did not collect cannot pass).
    for answer_set in sets:
        assert any(str(answer_set["id"]) in name for name in passed), (answer_set["id"], passed)
    assert report["numFailedTests"] == 0 and report["numPendingTests"] == 0, passed
