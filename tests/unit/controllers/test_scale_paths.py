"""The operator's scale shortcuts: each skips work only when the work would change nothing."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

import pytest

from syncline.controllers import starts
from syncline.controllers.applied import RecentlyApplied
from syncline.controllers.publish import unchanged
from syncline.controllers.requests import has_new_token
from syncline.controllers.single_flight import SingleFlight, probe_key
from syncline.controllers.startup import quiet_routine_successes
from syncline.history.naming import FULL_REFRESH_ANNOTATION, PROJECT_LABEL, RUN_NOW_ANNOTATION


def test_recently_applied_skips_identical_content_until_the_ttl_passes() -> None:
    now = [100.0]
    applied = RecentlyApplied(ttl=300, clock=lambda: now[0])
    manifests = [{"kind": "ServiceAccount", "metadata": {"name": "e", "namespace": "a"}}]
    assert not applied.fresh(manifests)
    applied.mark(manifests)
    assert applied.fresh(manifests)
    other = [{"kind": "ServiceAccount", "metadata": {"name": "e", "namespace": "b"}}]
    assert not applied.fresh(other)  # another namespace is other content
    now[0] += 301
    assert not applied.fresh(manifests)  # re-applied after the TTL: repairs a deletion


def test_unchanged_status_is_not_written_again() -> None:
    status = {"observedGeneration": 2, "cronJobRef": {"name": "p"}, "conditions": [{"a": 1}]}
    assert unchanged(status, {"observedGeneration": 2, "cronJobRef": {"name": "p"}})
    assert unchanged(status, {"nextRunTime": None})  # deleting an absent field
    assert not unchanged(status, {"observedGeneration": 3})
    assert not unchanged(status, {"cronJobRef": None})  # deleting a present field
    assert not unchanged(status, {"conditions": [{"a": 2}]})
    assert not unchanged({}, {"schedule": "manual"})


def test_only_a_new_token_needs_the_run_now_handler() -> None:
    def project(annotations: dict[str, str], status: dict[str, str]) -> dict[str, object]:
        return {"metadata": {"annotations": annotations}, "status": status}

    assert not has_new_token(project({}, {}))
    assert has_new_token(project({RUN_NOW_ANNOTATION: "t1"}, {}))
    assert not has_new_token(project({RUN_NOW_ANNOTATION: "t1"}, {"lastManualToken": "t1"}))
    assert has_new_token(
        project({FULL_REFRESH_ANNOTATION: "f"}, {"lastManualToken": "t1"}),
    )


def test_has_waiting_names_only_the_projects_own_jobs() -> None:
    job = {
        "metadata": {
            "namespace": "ns-scale",
            "name": "p1-abc",
            "labels": {PROJECT_LABEL: "p1"},
            "creationTimestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "status": {},
    }
    starts.track(job)
    try:
        assert starts.has_waiting("ns-scale", "p1")
        assert not starts.has_waiting("ns-scale", "p2")
        assert not starts.has_waiting("other", "p1")
    finally:
        starts.track(job, deleted=True)
    assert not starts.has_waiting("ns-scale", "p1")


def test_identical_probes_running_together_share_one_run() -> None:
    flight: SingleFlight[int] = SingleFlight()
    started, release = threading.Event(), threading.Event()
    runs: list[int] = []

    def work() -> int:
        runs.append(1)
        started.set()
        release.wait(5)
        return 42

    results: list[int] = []
    leader = threading.Thread(target=lambda: results.append(flight.run("k", work)))
    leader.start()
    started.wait(5)
    follower = threading.Thread(target=lambda: results.append(flight.run("k", work)))
    follower.start()
    while flight.shared == 0:
        time.sleep(0.01)
    release.set()
    leader.join(5)
    follower.join(5)
    assert results == [42, 42]
    assert len(runs) == 1
    assert flight.run("k", lambda: 7) == 7  # nothing kept once finished: asks again


def test_a_failed_probe_fails_its_followers_too_and_is_not_kept() -> None:
    flight: SingleFlight[int] = SingleFlight()

    def boom() -> int:
        raise ValueError("unreachable")

    with pytest.raises(ValueError, match="unreachable"):
        flight.run("k", boom)
    assert flight.run("k", lambda: 1) == 1


def test_probe_key_depends_on_spec_and_credential_values() -> None:
    spec = {"type": "postgresql", "endpoint": {"host": "db", "port": 5432}}
    key = probe_key(spec, {"username": "u", "password": "p"})
    assert key == probe_key(dict(spec), {"password": "p", "username": "u"})
    assert key != probe_key(spec, {"username": "u", "password": "other"})
    assert key != probe_key({**spec, "environment": "staging"}, {"username": "u", "password": "p"})
    assert len(key) == 64  # a digest: no credential value in it


def test_routine_successes_are_not_logged_but_reconciles_and_failures_are() -> None:
    def record(message: str, level: int = logging.INFO) -> logging.LogRecord:
        return logging.LogRecord("kopf.objects", level, __file__, 1, message, None, None)

    root = logging.getLogger()
    before = root.level
    root.setLevel(logging.INFO)
    try:
        assert not quiet_routine_successes(record("Timer 'fire_due_runs' succeeded."))
        assert not quiet_routine_successes(record("Handler 'project_event' succeeded."))
        assert quiet_routine_successes(record("Handler 'project_changed' succeeded."))
        failed = record("Timer 'fire_due_runs' failed with an exception.", logging.ERROR)
        assert quiet_routine_successes(failed)
        root.setLevel(logging.DEBUG)  # --verbose keeps everything
        assert quiet_routine_successes(record("Timer 'fire_due_runs' succeeded."))
    finally:
        root.setLevel(before)
