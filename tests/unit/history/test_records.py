"""The run documents shared by the engine, the operator and `syncline runs fail`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from syncline.api.run import IntegrationRun, IntegrationRunStatus
from syncline.errors import SynclineError
from syncline.history.records import error_status, run_manifest

ENDED = datetime(2026, 11, 21, 10, 0, 30, tzinfo=UTC)


def test_error_status_carries_code_message_and_a_false_succeeded_condition() -> None:
    error = SynclineError("RunPodFailed", name="r", detail="OOMKilled")
    status = IntegrationRunStatus.model_validate(error_status(error, ENDED))
    assert (status.result.value, status.error_code) == ("Error", 2402)
    assert status.message == str(error)
    assert status.completion_time == ENDED
    assert [(c.type, c.status, c.reason) for c in status.conditions] == [
        ("Succeeded", "False", "Error")
    ]


def test_error_status_with_a_start_has_its_duration() -> None:
    error = SynclineError("CredentialMissing", key="password", connection="crm")
    status = error_status(error, ENDED, ENDED - timedelta(seconds=30))
    assert (status["startTime"], status["durationSeconds"]) == ("2026-11-21T10:00:00Z", 30.0)


def test_run_manifest_is_a_valid_run_owned_by_its_project() -> None:
    body = run_manifest("p-123", "p", "retry", "uid-1", "p-123")
    run = IntegrationRun.model_validate(body)
    assert run.spec.trigger.value == "retry"
    assert run.spec.job_ref is not None
    assert body["metadata"]["labels"] == {
        "syncline.dev/project": "p",
        "syncline.dev/trigger": "retry",
    }
    assert body["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    assert "ownerReferences" not in run_manifest("x", "p", "manual", None, None)["metadata"]


def test_a_full_refresh_run_says_so_in_its_spec() -> None:
    body = run_manifest("p-1", "p", "manual", None, "p-1", full_refresh=True)
    assert IntegrationRun.model_validate(body).spec.full_refresh
    assert "fullRefresh" not in run_manifest("p-2", "p", "manual", None, "p-2")["spec"]
