"""What the operator keeps from its watches instead of asking the API server, and when it
refuses to trust it: stale copies must cost a read, never a wrong verdict."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import kopf
import pytest

from syncline.controllers import drift, next_run, retention, scheduler, starts, watched
from syncline.controllers.dependencies import SET_ANNOTATION
from syncline.controllers.startup import (
    KOPF_CALLS,
    WATCHES_PER_SCOPE,
    configure,
    connection_limit,
)
from syncline.controllers.watched import outcome_digest

READY = [{"type": "Ready", "status": "True", "reason": "ConnectionsReady"}]
NOT_READY = [{"type": "Ready", "status": "False", "reason": "ConnectionNotReady"}]


def _set(conditions: list[dict[str, str]]) -> dict[str, Any]:
    return {"metadata": {"name": "pair"}, "status": {"conditions": conditions}}


def _project(set_cause: str | None) -> dict[str, Any]:
    annotations = {SET_ANNOTATION: set_cause} if set_cause else {}
    return {"metadata": {"name": "orders", "annotations": annotations}}


def _connection(name: str, entities: list[dict[str, Any]]) -> dict[str, Any]:
    status = {"conditions": [{"type": "Ready", "status": "True"}], "entities": entities}
    return {"metadata": {"name": name}, "status": status}


def test_copies_are_trusted_only_when_they_show_what_the_set_last_said() -> None:
    members = {"crm": _connection("crm", []), "dwh": _connection("dwh", [])}
    assert watched.fresh_enough(_project(None), _set(READY), members)
    said_ready = _project("ConnectionSet/pair@True:ConnectionsReady")
    assert watched.fresh_enough(said_ready, _set(READY), members)
    assert not watched.fresh_enough(said_ready, _set(NOT_READY), members)  # watch lags
    said_not_ready = _project("ConnectionSet/pair@False:ConnectionNotReady")
    assert not watched.fresh_enough(said_not_ready, _set(READY), members)
    deleted = _project("ConnectionSet/pair@deleted:1234")
    assert not watched.fresh_enough(deleted, _set(READY), members)
    assert watched.fresh_enough(_project("ConnectionSet/other@False:X"), _set(READY), members)


def test_a_member_catalog_change_is_trusted_only_once_the_copy_shows_it() -> None:
    entities = [{"name": "customers", "fields": []}]
    digest = outcome_digest([{"type": "Ready", "status": "True"}], entities)
    project = _project(f"ConnectionSet/pair@Connection/crm@{digest}")
    old = {"crm": _connection("crm", []), "dwh": _connection("dwh", [])}
    new = {"crm": _connection("crm", entities), "dwh": _connection("dwh", [])}
    assert not watched.fresh_enough(project, _set(READY), old)
    assert watched.fresh_enough(project, _set(READY), new)


def test_observed_objects_are_trimmed_and_dropped_on_deletion() -> None:
    body = {
        "metadata": {"name": "crm", "namespace": "a", "managedFields": [{"big": 1}]},
        "spec": {"type": "postgresql"},
        "status": {"conditions": READY},
    }
    watched.observe("Connection", {"type": "ADDED"}, body)
    kept = watched.get("Connection", "a", "crm")
    assert kept == {
        "metadata": {"name": "crm", "namespace": "a"},
        **{k: body[k] for k in ("spec", "status")},
    }
    watched.observe("Connection", {"type": "DELETED"}, body)
    assert watched.get("Connection", "a", "crm") is None


def test_a_cronjob_is_known_as_ours_only_while_the_watch_shows_it_so() -> None:
    meta = {
        "namespace": "a",
        "name": "orders",
        "uid": "cj-1",
        "ownerReferences": [{"controller": True, "uid": "project-1"}],
    }
    drift._observe({"type": "ADDED"}, meta)
    assert drift.live_owned("a", "orders", "project-1") == "cj-1"
    assert drift.live_owned("a", "orders", "someone-else") is None
    drift._observe({"type": "DELETED"}, meta)
    assert drift.live_owned("a", "orders", "project-1") is None


def test_kopfs_connection_pool_fits_its_watches_and_stays_bounded() -> None:
    assert connection_limit(()) == WATCHES_PER_SCOPE + KOPF_CALLS
    assert connection_limit(("a", "b")) == 2 * WATCHES_PER_SCOPE + KOPF_CALLS
    assert connection_limit(("team-*",)) == 0  # uncountable: kopf's unbounded default


def _cron_project(next_run: str | None, generation: int = 1) -> dict[str, Any]:
    spec = {
        "connectionSetRef": {"name": "pair"},
        "schedule": {"cron": "0 3 * * *"},
        "tasks": [],
    }
    status = {"observedGeneration": generation, "nextRunTime": next_run}
    meta = {"namespace": "a", "name": "orders", "uid": "u1", "generation": 1}
    return {"metadata": meta, "spec": spec, "status": status}


def test_one_loop_finds_the_plain_cron_projects_whose_next_run_has_passed() -> None:
    next_run._cron_next.clear()
    project = _cron_project("2026-01-01T03:00:00Z")
    schedule = scheduler.schedule_of(project)
    assert schedule is not None
    assert not schedule.driven
    assert not scheduler.is_driven(project)  # no timer of its own
    asyncio.run(next_run.track_cron_next_run({"type": "ADDED"}, project))
    before = datetime(2026, 1, 1, 2, 59, tzinfo=UTC)
    assert next_run.due_cron_projects(before) == []
    due = next_run.due_cron_projects(before + timedelta(minutes=2))
    assert [(ns, name) for ns, name, _ in due] == [("a", "orders")]
    stale = _cron_project("2026-01-01T03:00:00Z", generation=0)  # status of an older spec
    asyncio.run(next_run.track_cron_next_run({"type": "MODIFIED"}, stale))
    assert next_run.due_cron_projects(before + timedelta(minutes=2)) == []
    asyncio.run(next_run.track_cron_next_run({"type": "DELETED"}, project))
    assert next_run._cron_next == {}


def test_the_retention_loop_gives_a_thread_only_to_projects_with_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    retention._projects.clear()
    body = {"metadata": {"namespace": "a", "name": "orders"}, "spec": {"history": {}}}
    asyncio.run(retention.track_project({"type": "ADDED"}, body))
    assert retention._projects == {("a", "orders"): retention.DEFAULT_RETENTION_DAYS}
    worked: list[tuple[str, str, int, bool]] = []
    monkeypatch.setattr(retention, "work", lambda *args: worked.append(args))
    waiting = {"a": False}
    monkeypatch.setattr(starts, "has_waiting", lambda ns, _p: waiting[ns])
    asyncio.run(retention.tick(1000.0))
    assert worked == []  # nothing waits, no sweep by default: no thread, no API call
    waiting["a"] = True
    asyncio.run(retention.tick(1010.0))
    assert worked == [("a", "orders", retention.DEFAULT_RETENTION_DAYS, False)]
    asyncio.run(retention.track_project({"type": "DELETED"}, body))
    assert retention._projects == {}


def test_kopf_workers_end_sooner_but_are_never_limited_in_number() -> None:
    """A worker limit deadlocks kopf at startup with more objects than the limit (each
    listed object's worker waits until every object is indexed): never set one."""
    settings = kopf.OperatorSettings()
    configure(settings)
    assert settings.queueing.worker_limit is None
    assert settings.queueing.idle_timeout == 1.0
