"""What the monitoring manifests' PromQL names, checked against what the operator exports.

No PromQL parser in Python is needed: promtool parses (``promtool check rules``); these
helpers only find the metric names and label matchers an expression uses, so a renamed
metric or label in ``syncline.observability.metrics`` breaks a test instead of silently
emptying an alert or a panel.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from syncline.observability.metrics import FinishedRun, Recorder

MONITORING = Path(__file__).resolve().parents[2] / "manifests" / "monitoring"
SCRAPE_ONLY = {"up"}
"""Series Prometheus makes itself, not the operator."""
TARGET_LABELS = frozenset({"job", "instance", "pod", "service", "endpoint", "container"})
"""Labels a ServiceMonitor's scrape adds to every series."""
CLOSED_LABELS = {"outcome", "result", "status"}
"""Labels whose every value the operator defines (a typo in one empties a query)."""

_SAMPLE_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
}
_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "bool", "offset"}
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENTIFIER = re.compile(r"(?<![\w:.])([a-zA-Z_:][\w:]*)(?!\w)(\s*\()?")
_SELECTOR = re.compile(r"([a-zA-Z_:][\w:]*)\s*\{([^{}]*)\}")
_MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')


@dataclass
class Exported:
    """Every series name the operator's registry can export, and label values seen."""

    names: set[str] = field(default_factory=set)
    labels: dict[str, dict[str, set[str]]] = field(default_factory=dict)


def exported() -> Exported:
    """The names of every metric the Recorder declares (with their sample suffixes), and
    the labels and values of a Recorder that has seen a little of everything."""
    recorder = Recorder()
    recorder.project_observed("ns", "p", interval_seconds=60, last_run=2, last_success=1)
    recorder.run_finished(FinishedRun("ns", "p", "Error", 1.0, 2.0, {"failed": 1}))
    recorder.run_finished(FinishedRun("ns", "p", "Completed", 1.0, 3.0, {"inserted": 1}))
    recorder.condition("IntegrationProject", "ns", "p", "Ready", "False")
    recorder.reconciled("IntegrationProject", 0.1, failed=True)
    found = Exported()
    for family in recorder.registry.collect():
        found.names |= {family.name + s for s in _SAMPLE_SUFFIXES.get(family.type, ("",))}
        for sample in family.samples:
            labels = found.labels.setdefault(sample.name, {})
            for key, value in sample.labels.items():
                labels.setdefault(key, set()).add(value)
    return found


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects (functions, keywords and labels left out)."""
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub("", text)
    text = _RANGE.sub("", text)
    text = _GROUPING.sub("", text)
    return {
        name
        for name, call in _IDENTIFIER.findall(text)
        if not call and name not in _KEYWORDS and not re.fullmatch(r"[\d.e+-]+", name)
    }


def selectors(expr: str) -> Iterator[tuple[str, list[tuple[str, str, str]]]]:
    """Each ``name{matchers}`` in an expression, with its (label, operator, value) list."""
    for name, body in _SELECTOR.findall(expr):
        yield name, _MATCHER.findall(body)


def problems(expr: str, known: Exported, extra_labels: frozenset[str] = frozenset()) -> list[str]:
    """What in ``expr`` the operator does not export: unknown metric names, label names
    (beyond ``extra_labels``, which scraping adds), or values of a closed label set
    (``outcome``, ``result``, ``status``) it never produces."""
    found = [f"unknown metric {n}" for n in metric_names(expr) - known.names - SCRAPE_ONLY]
    for name, matchers in selectors(expr):
        if name in SCRAPE_ONLY:
            continue
        labels = known.labels.get(name)
        if labels is None:
            found.append(f"{name}: exercise it in tests/support/promql.py:exported()")
            continue
        for label, op, value in matchers:
            if label not in labels and label not in extra_labels:
                found.append(f"{name} has no label {label!r} (it has {sorted(labels)})")
            elif op == "=" and label in CLOSED_LABELS and value not in labels[label]:
                found.append(f"{name}{{{label}}} is never {value!r} ({sorted(labels[label])})")
    return found


def require_promtool() -> str:
    """promtool's path; a missing promtool fails the test, never skips it."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail(
            "promtool is missing: `make test` installs it with Debian's prometheus package "
            "(tools/install-system-deps.sh); or: apt-get install prometheus"
        )
    return promtool


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_promtool(), *args], capture_output=True, text=True, check=False, cwd=cwd
    )


def write_rules(path: Path, groups: list[dict[str, object]]) -> Path:
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return path
