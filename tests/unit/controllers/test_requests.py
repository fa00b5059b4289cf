"""Which IntegrationRuns are run requests: created by a user, with no Job yet."""

from __future__ import annotations

from typing import Any

from syncline.controllers.requests import is_run_request
from syncline.history.records import run_manifest


def _request(**spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "reload", "namespace": "team-a"},
        "spec": {"projectRef": {"name": "crm"}, **spec},
    }


def test_a_run_created_without_a_job_is_a_request() -> None:
    assert is_run_request(_request())
    assert is_run_request(_request(fullRefresh=True) | {"status": {"result": "Pending"}})


def test_runs_recorded_for_jobs_are_never_requests() -> None:
    # what the operator (watching Jobs) and the engine (in the pod) create
    assert not is_run_request(
        run_manifest("crm-29001234", "crm", "schedule", "uid", "crm-29001234")
    )


def test_a_started_finished_or_deleted_request_is_not_started_again() -> None:
    assert not is_run_request(_request(jobRef={"name": "reload"}))
    assert not is_run_request(_request() | {"status": {"result": "Error", "errorCode": 1670}})
    assert not is_run_request(_request() | {"status": {"result": "Running"}})
    deleted = _request()
    deleted["metadata"]["deletionTimestamp"] = "2026-11-20T10:00:00Z"
    assert not is_run_request(deleted)
