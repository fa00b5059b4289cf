"""manifests/monitoring/prometheusrule.yaml: valid for Prometheus, every alert unit-tested
with promtool on series named as the operator exports them, and each one's runbook there."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.promql import (
    MONITORING,
    TARGET_LABELS,
    exported,
    problems,
    promtool,
    write_rules,
)

RULES = MONITORING / "prometheusrule.yaml"
UNIT_TESTS = MONITORING / "tests" / "alerts-test.yaml"
RUNBOOK = MONITORING.parents[1] / "docs" / "monitoring.md"
RUNBOOK_URL = "https://github.com/syncline/syncline/blob/main/docs/monitoring.md#"


def _rule_groups() -> list[dict[str, Any]]:
    rule = yaml.safe_load(RULES.read_text())
    assert (rule["apiVersion"], rule["kind"]) == ("monitoring.coreos.com/v1", "PrometheusRule")
    groups: list[dict[str, Any]] = rule["spec"]["groups"]
    return groups


def _alerts() -> list[dict[str, Any]]:
    return [r for group in _rule_groups() for r in group["rules"] if "alert" in r]


def _unit_tests() -> dict[str, Any]:
    tests: dict[str, Any] = yaml.safe_load(UNIT_TESTS.read_text())
    return tests


def test_promtool_accepts_the_rules(tmp_path: Path) -> None:
    rules = write_rules(tmp_path / "syncline-rules.yaml", _rule_groups())
    out = promtool("check", "rules", str(rules))
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(_alerts())} rules found" in out.stdout


def test_every_alert_passes_its_promtool_unit_tests(tmp_path: Path) -> None:
    assert _unit_tests()["rule_files"] == ["syncline-rules.yaml"]
    write_rules(tmp_path / "syncline-rules.yaml", _rule_groups())
    shutil.copy(UNIT_TESTS, tmp_path / UNIT_TESTS.name)
    out = promtool("test", "rules", UNIT_TESTS.name, cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_every_alert_is_tested_firing_and_quiet() -> None:
    cases: dict[str, list[bool]] = {}
    for test in _unit_tests()["tests"]:
        for case in test.get("alert_rule_test", []):
            cases.setdefault(case["alertname"], []).append(bool(case.get("exp_alerts")))
    for alert in _alerts():
        name = alert["alert"]
        assert True in cases.get(name, []), f"no test where {name} fires"
        assert False in cases.get(name, []), f"no test where {name} stays quiet"
    assert set(cases) == {a["alert"] for a in _alerts()}, "tests of alerts that do not exist"


def test_rules_use_only_what_the_operator_exports() -> None:
    known = exported()
    for alert in _alerts():
        assert problems(alert["expr"], known) == [], alert["alert"]


def test_unit_test_series_are_named_and_labelled_as_exported() -> None:
    """So a passing unit test means the alert works on real series, not on invented ones."""
    known = exported()
    for test in _unit_tests()["tests"]:
        for series in test["input_series"]:
            selector = series["series"]
            assert problems(selector, known, TARGET_LABELS) == [], selector


@pytest.mark.parametrize("alert", _alerts(), ids=lambda a: str(a["alert"]))
def test_alert_says_how_bad_what_and_where_to_read_on(alert: dict[str, Any]) -> None:
    assert alert["labels"]["severity"] in ("critical", "warning")
    annotations = alert["annotations"]
    assert annotations["summary"].strip()
    assert annotations["description"].strip()
    anchor = alert["alert"].lower()
    assert annotations["runbook_url"] == RUNBOOK_URL + anchor
    headings = re.findall(r"^#{2,4} (\S+)\s*$", RUNBOOK.read_text(), re.MULTILINE)
    assert alert["alert"] in headings, f"docs/monitoring.md has no section {alert['alert']}"


def test_summaries_name_what_the_alert_is_about() -> None:
    """Every label an alert carries (namespace, project, kind, name) is in its summary."""
    carried: dict[str, set[str]] = {}
    for test in _unit_tests()["tests"]:
        for case in test.get("alert_rule_test", []):
            for expected in case.get("exp_alerts") or []:
                keys = set(expected["exp_labels"]) - {"severity"}
                carried.setdefault(case["alertname"], set()).update(keys)
    for alert in _alerts():
        summary = alert["annotations"]["summary"]
        for label in carried.get(alert["alert"], set()):
            assert f"$labels.{label}" in summary, (alert["alert"], label)
