"""manifests/monitoring/grafana-dashboard.json: loads, every query parses (promtool) and
selects only what the operator exports; the kustomization ships it where Grafana looks."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from tests.support.promql import MONITORING, exported, problems, promtool, write_rules

DASHBOARD = MONITORING / "grafana-dashboard.json"
GRAFANA_VARIABLES = {
    "__rate_interval": "2m",
    "__interval": "1m",
    "__range": "1d",
    "namespace": ".*",
    "project": ".*",
}
"""What Grafana puts in place of each variable before the query reaches Prometheus."""


def _dashboard() -> dict[str, Any]:
    board: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return board


def _panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    flat = []
    for panel in board["panels"]:
        flat.append(panel)
        flat.extend(panel.get("panels", []))
    return flat


def _queries() -> list[tuple[str, str]]:
    """(where, expression) of every panel query, Grafana's variables substituted."""
    found = []
    for panel in _panels(_dashboard()):
        for target in panel.get("targets", []):
            where = f"{panel['title']} / {target['refId']}"
            found.append((where, _substitute(target["expr"])))
    return found


def _substitute(expr: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in GRAFANA_VARIABLES, f"unknown dashboard variable ${name} in {expr}"
        return GRAFANA_VARIABLES[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, expr)


def test_the_data_source_is_a_variable_not_a_fixed_uid() -> None:
    board = _dashboard()
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert "__inputs" not in board  # a ConfigMap is loaded as is, never "imported"
    for panel in _panels(board):
        if panel["type"] == "row":
            continue
        for holder in [panel, *panel["targets"]]:
            assert holder["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


def test_panels_have_unique_ids_and_titles() -> None:
    panels = _panels(_dashboard())
    assert len({p["id"] for p in panels}) == len(panels)
    titled = [p["title"] for p in panels if p["type"] != "row"]
    assert len(set(titled)) == len(titled)


def test_the_dashboard_shows_what_an_operator_of_syncline_needs() -> None:
    """Runs by result, rows, run duration, last success per project, reconciles."""
    exprs = " ".join(expr for _, expr in _queries())
    for needed in (
        "syncline_runs_total",
        "syncline_rows_total",
        "syncline_run_duration_seconds_bucket",
        "syncline_last_success_timestamp_seconds",
        "syncline_reconcile_errors_total",
        "syncline_reconcile_duration_seconds_bucket",
    ):
        assert needed in exprs, needed


def test_every_query_parses(tmp_path: Path) -> None:
    """promtool parses each query as a recording rule (it has no bare PromQL check)."""
    rules = [
        {"record": f"dashboard:query_{i}", "expr": expr} for i, (_, expr) in enumerate(_queries())
    ]
    path = write_rules(tmp_path / "dashboard-queries.yaml", [{"name": "dashboard", "rules": rules}])
    out = promtool("check", "rules", str(path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(rules)} rules found" in out.stdout


def test_queries_and_variables_use_only_what_the_operator_exports() -> None:
    known = exported()
    for where, expr in _queries():
        assert problems(expr, known) == [], where
    for variable in _dashboard()["templating"]["list"]:
        if variable["type"] != "query":
            continue
        inner = re.fullmatch(r"label_values\((.*), *(\w+)\)", variable["definition"])
        assert inner is not None, variable["definition"]
        selector, label = _substitute(inner.group(1)), inner.group(2)
        assert problems(selector, known) == [], variable["name"]
        metric = selector.split("{")[0]
        assert problems(f'{metric}{{{label}=~".*"}}', known) == [], variable["name"]


def test_kustomization_installs_the_rules_and_the_dashboard_for_grafanas_sidecar() -> None:
    kustomization = yaml.safe_load((MONITORING / "kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        assert (MONITORING / resource).is_file(), resource
    assert "prometheusrule.yaml" in kustomization["resources"]
    (generator,) = kustomization["configMapGenerator"]
    assert generator["options"]["labels"] == {"grafana_dashboard": "1"}
    assert generator["options"]["disableNameSuffixHash"] is True
    (key, _, file) = generator["files"][0].partition("=")
    assert key.endswith(".json")
    assert MONITORING / file == DASHBOARD


def test_the_base_install_does_not_need_the_prometheus_operator() -> None:
    base = yaml.safe_load((MONITORING.parent / "kustomization.yaml").read_text())
    assert not any("monitoring" in resource for resource in base["resources"])
