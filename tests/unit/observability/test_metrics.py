"""Metrics: what a dashboard shows after runs, and nothing left of a deleted project."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families

from syncline.observability.metrics import FinishedRun, Recorder


def _samples(recorder: Recorder) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = recorder.exposition().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _run(result: str = "Completed", **rows: int) -> FinishedRun:
    return FinishedRun("sales", "crm-to-sales", result, 12.5, 1_700_000_000.0, rows)


def test_finished_runs_count_rows_by_outcome_and_runs_by_result() -> None:
    rec = Recorder()
    rec.run_finished(_run(inserted=90, unchanged=10))
    rec.run_finished(_run("Error"))
    samples = _samples(rec)

    def sample(name: str, **labels: str) -> float:
        both = {"namespace": "sales", "project": "crm-to-sales", **labels}
        return samples[(name, tuple(sorted(both.items())))]

    assert sample("syncline_rows_total", outcome="inserted") == 90
    assert sample("syncline_rows_total", outcome="unchanged") == 10
    assert sample("syncline_runs_total", result="Completed") == 1
    assert sample("syncline_runs_total", result="Error") == 1
    assert sample("syncline_run_duration_seconds_count") == 2


def test_last_success_ignores_failed_runs() -> None:
    rec = Recorder()
    rec.run_finished(FinishedRun("ns", "p", "Completed", 1, 100.0))
    rec.run_finished(FinishedRun("ns", "p", "Error", 1, 200.0))
    samples = _samples(rec)
    labels = (("namespace", "ns"), ("project", "p"))
    assert samples[("syncline_last_run_timestamp_seconds", labels)] == 200
    assert samples[("syncline_last_success_timestamp_seconds", labels)] == 100


def test_deleting_a_project_removes_its_series() -> None:
    rec = Recorder()
    rec.run_finished(_run(inserted=1))
    rec.run_finished(FinishedRun("sales", "other", "Completed", 1, 1.0, {"inserted": 5}))
    rec.condition("IntegrationProject", "sales", "crm-to-sales", "Ready", "True")
    rec.forget_project("sales", "crm-to-sales")
    text = rec.exposition().decode()
    assert 'project="crm-to-sales"' not in text
    assert 'name="crm-to-sales"' not in text
    assert 'project="other"' in text


def test_condition_gauge_is_one_hot() -> None:
    rec = Recorder()
    rec.condition("Connection", "ns", "db", "Ready", "False")
    rec.condition("Connection", "ns", "db", "Ready", "True")
    samples = _samples(rec)
    base = (("condition", "Ready"), ("kind", "Connection"), ("name", "db"), ("namespace", "ns"))
    values = {
        status: samples[("syncline_resource_condition", tuple(sorted((*base, ("status", status)))))]
        for status in ("True", "False", "Unknown")
    }
    assert values == {"True": 1, "False": 0, "Unknown": 0}


def test_promtool_finds_no_problem_in_the_exposition() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: `make test` installs Debian's prometheus package")
    rec = Recorder()
    rec.project_observed("sales", "crm-to-sales", interval_seconds=3600.0, last_success=1.0)
    rec.run_finished(_run(inserted=3, failed=1))
    rec.condition("IntegrationProject", "sales", "crm-to-sales", "Ready", "True")
    rec.reconciled("IntegrationProject", 0.2)
    rec.reconciled("Connection", 0.1, failed=True)
    out = subprocess.run(
        [promtool, "check", "metrics"], input=rec.exposition(), capture_output=True, check=False
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert not (out.stdout + out.stderr).strip()


def _project_samples(rec: Recorder) -> dict[str, float]:
    """name{result|outcome} -> value for project ns/p."""
    found = {}
    for (name, labels), value in _samples(rec).items():
        keyed = dict(labels)
        if keyed.get("project") != "p":
            continue
        extra = keyed.get("result") or keyed.get("outcome")
        found[f"{name}{{{extra}}}" if extra else name] = value
    return found


def test_a_reconciled_project_exports_its_counters_at_zero_and_its_interval() -> None:
    """Zero before the first run, so increase() sees that run (a series born at 1 hides it)."""
    rec = Recorder()
    rec.project_observed("ns", "p", interval_seconds=900.0)
    samples = _project_samples(rec)
    assert samples["syncline_project_schedule_interval_seconds"] == 900
    assert {k: v for k, v in samples.items() if k.startswith("syncline_runs_total")} == {
        "syncline_runs_total{Completed}": 0,
        "syncline_runs_total{Warning}": 0,
        "syncline_runs_total{Error}": 0,
    }
    assert samples["syncline_rows_total{failed}"] == 0
    assert "syncline_last_success_timestamp_seconds" not in samples  # no run known yet


def test_a_project_that_stops_keeping_a_schedule_loses_its_interval() -> None:
    rec = Recorder()
    rec.project_observed("ns", "p", interval_seconds=3600.0)
    rec.project_observed("ns", "p", interval_seconds=None)  # suspended, or manual only
    assert "syncline_project_schedule_interval_seconds" not in _project_samples(rec)


def test_the_last_run_and_success_are_restored_from_status_and_never_go_back() -> None:
    rec = Recorder()
    rec.project_observed("ns", "p", interval_seconds=60.0, last_run=200.0, last_success=100.0)
    samples = _project_samples(rec)
    assert samples["syncline_last_run_timestamp_seconds"] == 200
    assert samples["syncline_last_success_timestamp_seconds"] == 100
    rec.run_finished(FinishedRun("ns", "p", "Completed", 1, 300.0))
    # A reconcile that read the project before that run was folded in.
    rec.project_observed("ns", "p", interval_seconds=60.0, last_run=200.0, last_success=100.0)
    samples = _project_samples(rec)
    assert samples["syncline_last_run_timestamp_seconds"] == 300
    assert samples["syncline_last_success_timestamp_seconds"] == 300


def test_deleting_a_project_removes_what_its_reconciles_exported() -> None:
    rec = Recorder()
    rec.project_observed("ns", "p", interval_seconds=60.0, last_run=200.0, last_success=200.0)
    rec.forget_project("ns", "p")
    assert _project_samples(rec) == {}
    # A project created again under the same name starts from nothing.
    rec.project_observed("ns", "p", interval_seconds=None, last_run=50.0)
    assert _project_samples(rec)["syncline_last_run_timestamp_seconds"] == 50
