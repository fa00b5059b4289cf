"""Why a failed Job failed, as the catalog code its IntegrationRun is closed with."""

from __future__ import annotations

from typing import Any

from syncline.controllers.runs import failure_of_job


def _job(reason: str, message: str = "") -> dict[str, Any]:
    condition = {"type": "Failed", "status": "True", "reason": reason, "message": message}
    return {
        "metadata": {"name": "orders-sync-1"},
        "spec": {"activeDeadlineSeconds": 30},
        "status": {"conditions": [condition]},
    }


def test_deadline_is_a_timeout() -> None:
    error = failure_of_job(_job("DeadlineExceeded"))
    assert error is not None
    assert error.code == 2401
    assert "30s" in str(error)


def test_sigkill_matched_by_the_failure_policy_is_a_killed_pod() -> None:
    message = (
        "Container engine for pod ns/orders-sync-1-x failed with exit code 137 "
        "matching FailJob rule at index 0"
    )
    error = failure_of_job(_job("PodFailurePolicy", message))
    assert error is not None
    assert error.code == 2408
    assert "spec.limits.memory" in str(error)


def test_other_failures_are_pod_failures() -> None:
    error = failure_of_job(_job("BackoffLimitExceeded", "Job has reached the backoff limit"))
    assert error is not None
    assert error.code == 2402


def test_a_running_job_has_not_failed() -> None:
    assert failure_of_job({"metadata": {"name": "x"}, "spec": {}, "status": {}}) is None
