"""The alert rules are valid Prometheus rules, and each alert fires on a bad series and stays
silent on a good one: promtool's own checks (`check rules`, `test rules`), run on the files
exactly as shipped. In CI (`CI=true`) a missing promtool fails the suite, never skips it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from .prometheus_server import promtool

PROMETHEUS = Path(__file__).resolve().parent.parent / "observability" / "prometheus"
RULES = PROMETHEUS / "alerts.yml"
RULE_TESTS = PROMETHEUS / "alerts.test.yml"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "alerts.md"


def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    """promtool with `args`, run from the rules' folder (the tests name the rules relatively)."""
    return subprocess.run(
        [promtool(), *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120
    )


def alert_names() -> list[str]:
    """Every alert the rules file defines."""
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return [rule["alert"] for group in groups for rule in group["rules"]]


def test_promtool_accepts_the_rules() -> None:
    checked = run_promtool("check", "rules", RULES.name)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(alert_names())} rules found" in checked.stdout


def test_every_alert_fires_on_its_bad_series_and_stays_silent_on_its_good_one() -> None:
    tests = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))["tests"]
    fired: dict[str, list[bool]] = {}
    for case in tests:
        for check in case["alert_rule_test"]:
            fired.setdefault(check["alertname"], []).append(bool(check["exp_alerts"]))
    # Each alert has one case where it fires and one where it must not.
    assert {name: sorted(cases) for name, cases in fired.items()} == {
        name: [False, True] for name in alert_names()
    }

    tested = run_promtool("test", "rules", RULE_TESTS.name)

    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_a_rule_test_that_expects_the_wrong_outcome_fails() -> None:
    # promtool really evaluates the cases: flipping one expectation must fail it.
    document = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))
    silent = next(
        case for case in document["tests"] if not case["alert_rule_test"][0]["exp_alerts"]
    )
    firing = next(case for case in document["tests"] if case["alert_rule_test"][0]["exp_alerts"])
    silent["alert_rule_test"][0]["exp_alerts"] = firing["alert_rule_test"][0]["exp_alerts"]
    silent["alert_rule_test"][0]["alertname"] = firing["alert_rule_test"][0]["alertname"]
    flipped = PROMETHEUS / "flipped.test.yml"
    flipped.write_text(yaml.safe_dump({**document, "tests": [silent]}), encoding="utf-8")
    try:
        tested = run_promtool("test", "rules", flipped.name)
    finally:
        flipped.unlink()

    assert tested.returncode != 0, tested.stdout


def test_every_alert_has_a_runbook_section() -> None:
    text = DOCS.read_text(encoding="utf-8")
    sections = set(re.findall(r"^## (\S+)$", text, flags=re.MULTILINE))
    assert sections == set(alert_names())
    for group in yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]:
        for rule in group["rules"]:
            assert rule["annotations"]["runbook"] == f"docs/alerts.md#{rule['alert'].lower()}"
            assert rule["labels"]["severity"] in {"critical", "warning"}
