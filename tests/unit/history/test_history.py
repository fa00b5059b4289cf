"""Aggregating runs into a project and expiring old ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from syncline.api.base import LocalObjectReference
from syncline.api.project import IntegrationProjectStatus
from syncline.api.run import IntegrationRun
from syncline.history.aggregate import add_to_totals, is_newer, last_run_of
from syncline.history.naming import log_config_map_name, manual_job_name
from syncline.history.retention import expired

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _run(name: str, result: str, finished: datetime | None, **counts: Any) -> IntegrationRun:
    status: dict[str, Any] = {"result": result, **counts}
    if finished:
        status["completionTime"] = finished.isoformat()
    return IntegrationRun.model_validate(
        {
            "kind": "IntegrationRun",
            "metadata": {"name": name},
            "spec": {"projectRef": {"name": "p"}, "trigger": "schedule"},
            "status": status,
        }
    )


def test_a_run_is_counted_once_even_when_seen_again() -> None:
    run = _run("p-1", "Completed", T0, read=10, inserted=10, upserts=10)
    status = IntegrationProjectStatus()
    assert is_newer(run, status)
    status.last_run = last_run_of(run)
    status.totals = add_to_totals(status.totals, run)
    assert not is_newer(run, status)
    assert status.totals.upserts == 10
    assert status.totals.completed == 1


def test_older_or_unfinished_runs_do_not_replace_the_last_run() -> None:
    status = IntegrationProjectStatus(last_run=last_run_of(_run("p-2", "Error", T0)))
    assert not is_newer(_run("p-1", "Completed", T0 - timedelta(minutes=5)), status)
    assert not is_newer(_run("p-3", "Running", None), status)
    assert is_newer(_run("p-3", "Warning", T0 + timedelta(minutes=5)), status)


def test_totals_count_each_result() -> None:
    totals = None
    for result in ("Completed", "Warning", "Error", "Error"):
        totals = add_to_totals(totals, _run("x", result, T0, upserts=2))
    assert totals is not None
    assert (totals.runs, totals.completed, totals.warnings, totals.errors) == (4, 1, 1, 2)
    assert totals.upserts == 8


def test_only_finished_runs_past_retention_expire() -> None:
    now = T0 + timedelta(days=45, hours=1)
    runs = [
        _run("old", "Completed", T0),
        _run("recent", "Completed", T0 + timedelta(days=2)),
        _run("stuck", "Running", None),
    ]
    assert expired(runs, 45, now) == ["old"]


def test_manual_job_names_are_stable_per_token_and_valid() -> None:
    a = manual_job_name("a" * 70, "token-1")
    assert a == manual_job_name("a" * 70, "token-1")
    assert a != manual_job_name("a" * 70, "token-2")
    assert len(a) <= 63
    assert len(log_config_map_name("r" * 63)) <= 63


def test_a_scheduled_run_after_an_error_is_recorded_as_a_retry() -> None:
    from syncline.history.naming import effective_trigger

    assert effective_trigger(None, "Error") == "retry"
    assert effective_trigger(None, "Completed") == "schedule"
    assert effective_trigger("manual", "Error") == "manual"


def test_a_run_request_refused_before_it_had_a_job_is_not_folded() -> None:
    refused = _run("asked", "Error", T0, errorCode=1670)
    assert not is_newer(refused, IntegrationProjectStatus())
    failed = _run("ran", "Error", T0, errorCode=2402)
    failed.spec.job_ref = LocalObjectReference(name="ran")
    assert is_newer(failed, IntegrationProjectStatus())
