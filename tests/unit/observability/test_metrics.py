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
    rec.run_finished(_run(inserted=3, failed=1))
    rec.condition("IntegrationProject", "sales", "crm-to-sales", "Ready", "True")
    rec.reconciled("IntegrationProject", 0.2)
    rec.reconciled("Connection", 0.1, failed=True)
    out = subprocess.run(
        [promtool, "check", "metrics"], input=rec.exposition(), capture_output=True, check=False
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert not (out.stdout + out.stderr).strip()
