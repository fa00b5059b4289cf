"""Jobs whose pod is never created or never starts: which are noticed, when, and with
what cause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from syncline.controllers import starts

CREATED = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
REFUSED = (
    'Error creating: pods "p" is forbidden: error looking up service account '
    'team-a/syncline-engine: serviceaccount "syncline-engine" not found'
)


def _job(name: str, project: str = "orders", **status: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "namespace": "team-a",
            "name": name,
            "labels": {"syncline.dev/project": project},
            "creationTimestamp": CREATED.isoformat().replace("+00:00", "Z"),
        },
        "status": status,
    }


@pytest.fixture(autouse=True)
def _no_waiting_jobs() -> None:
    starts._waiting.clear()


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[dict[str, Any]]]:
    by_job: dict[str, list[dict[str, Any]]] = {}
    monkeypatch.setattr(starts.kube, "failed_create_events", lambda ns, job: by_job.get(job, []))
    monkeypatch.setattr(starts.kube, "pod_failure_events", lambda ns, job: [])
    return by_job


@pytest.fixture
def pod_events(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[dict[str, Any]]]:
    by_job: dict[str, list[dict[str, Any]]] = {}
    monkeypatch.setattr(starts.kube, "failed_create_events", lambda ns, job: [])
    monkeypatch.setattr(starts.kube, "pod_failure_events", lambda ns, job: by_job.get(job, []))
    return by_job


def test_a_refused_job_is_closed_after_the_grace_period_with_the_cause(
    events: dict[str, list[dict[str, Any]]],
) -> None:
    starts.track(_job("orders-1"))
    events["orders-1"] = [{"message": REFUSED, "lastTimestamp": "2026-11-22T10:00:05Z"}]
    assert starts.unstartable("team-a", "orders", CREATED + timedelta(seconds=5)) == []
    ((job, error),) = starts.unstartable("team-a", "orders", CREATED + timedelta(minutes=1))
    assert job["metadata"] == {"namespace": "team-a", "name": "orders-1"}
    assert error.code == 2409
    assert "serviceaccount" in str(error)
    assert starts.unstartable("team-a", "orders", CREATED + timedelta(minutes=2)) == []


def test_a_slow_start_without_refusal_keeps_waiting(
    events: dict[str, list[dict[str, Any]]],
) -> None:
    starts.track(_job("orders-1"))
    assert starts.unstartable("team-a", "orders", CREATED + timedelta(minutes=5)) == []
    events["orders-1"] = [{"message": "exceeded quota", "lastTimestamp": "2026-11-22T10:05:00Z"}]
    ((_, error),) = starts.unstartable("team-a", "orders", CREATED + timedelta(minutes=6))
    assert "exceeded quota" in str(error)


def test_started_finished_and_deleted_jobs_are_forgotten(
    events: dict[str, list[dict[str, Any]]],
) -> None:
    for name in ("a", "b", "c"):
        starts.track(_job(name))
        events[name] = [{"message": REFUSED}]
    starts.track(_job("a", active=1, ready=1))
    starts.track(_job("b", conditions=[{"type": "Failed", "status": "True"}]))
    starts.track(_job("c"), deleted=True)
    assert starts.unstartable("team-a", "orders", CREATED + timedelta(hours=1)) == []


def test_only_the_asking_projects_jobs_are_checked(
    events: dict[str, list[dict[str, Any]]],
) -> None:
    starts.track(_job("other-1", project="other"))
    events["other-1"] = [{"message": REFUSED}]
    assert starts.unstartable("team-a", "orders", CREATED + timedelta(hours=1)) == []
    assert len(starts.unstartable("team-a", "other", CREATED + timedelta(hours=1))) == 1


def test_a_pod_whose_secret_is_gone_is_closed_naming_the_secret(
    pod_events: dict[str, list[dict[str, Any]]],
) -> None:
    starts.track(_job("orders-1", active=1))  # created, never ready
    pod_events["orders-1"] = [
        {"message": "Error: ImagePullBackOff", "lastTimestamp": "2026-11-22T10:00:03Z"},
        {"message": 'Error: secret "crm-creds" not found', "lastTimestamp": "2026-11-22T10:00:05Z"},
    ]
    ((_, error),) = starts.unstartable("team-a", "orders", CREATED + timedelta(minutes=1))
    assert (error.code, str(error)) == (
        2100,
        "2100 SecretNotFound: Secret crm-creds does not exist in team-a.",
    )


def test_other_configuration_failures_are_2409_and_pull_trouble_keeps_waiting(
    pod_events: dict[str, list[dict[str, Any]]],
) -> None:
    starts.track(_job("orders-1", active=1))
    pod_events["orders-1"] = [{"message": "Error: ErrImagePull"}]
    assert starts.unstartable("team-a", "orders", CREATED + timedelta(minutes=1)) == []
    pod_events["orders-1"] = [{"message": "Error: couldn't find key password in Secret team-a/crm"}]
    ((_, error),) = starts.unstartable("team-a", "orders", CREATED + timedelta(minutes=2))
    assert error.code == 2409
    assert "couldn't find key password" in str(error)
