"""A set nudges exactly the projects that planned with another state of it, and a
project's first plan waits (bounded) until its set has decided."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from syncline.controllers import followers, watched
from syncline.controllers.watched import outcome_digest

NS = "team-a"
READY = {"type": "Ready", "status": "True", "reason": "ConnectionsReady"}
NOT_READY = {"type": "Ready", "status": "False", "reason": "ConnectionNotReady"}


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    watched.forget_all()
    yield
    watched.forget_all()
    for project in ("orders", "invoices", "other"):
        followers.forget(NS, project)


def _see(kind: str, name: str, status: dict[str, Any] | None, generation: int = 1) -> None:
    meta = {"name": name, "namespace": NS, "generation": generation}
    watched.observe(kind, {"type": "MODIFIED"}, {"metadata": meta, "status": status or {}})


def _set(condition: dict[str, str] | None, members: list[dict[str, Any]] | None = None) -> None:
    status: dict[str, Any] = {"observedGeneration": 1, "members": members or []}
    if condition is not None:
        status["conditions"] = [condition]
    _see("ConnectionSet", "pair", status)


def _connection(name: str, ready: bool | None) -> None:
    if ready is None:
        _see("Connection", name, {})
        return
    condition = {"type": "Ready", "status": str(ready), "reason": "X"}
    _see("Connection", name, {"observedGeneration": 1, "conditions": [condition]})


def _plans(project: str) -> None:
    followers.read_copies(NS, project, "pair")


def test_only_projects_that_planned_with_another_state_are_nudged_and_only_once() -> None:
    _set(NOT_READY)
    _plans("orders")  # planned while not Ready
    _set(READY)
    _plans("invoices")  # planned with Ready already
    assert followers.behind(NS, "pair") == [("orders", "True:ConnectionsReady")]
    assert followers.behind(NS, "pair") == []  # asked already
    _plans("orders")  # it re-planned
    _set(NOT_READY)
    assert followers.behind(NS, "pair") == [
        ("invoices", "False:ConnectionNotReady"),
        ("orders", "False:ConnectionNotReady"),
    ]


def test_a_plan_from_a_fresh_read_counts_and_a_project_not_planned_yet_needs_no_nudge() -> None:
    _set(NOT_READY)
    _plans("orders")
    fresh = {
        "metadata": {"generation": 1},
        "status": {"observedGeneration": 1, "conditions": [READY]},
    }
    followers.note_read(NS, "orders", "pair", fresh, {})  # the API server was ahead
    _set(READY)
    assert followers.behind(NS, "pair") == []


def test_a_set_without_a_verdict_nudges_nobody_and_other_sets_are_left_alone() -> None:
    _plans("orders")  # planned before the set was seen: absent
    followers.note_read(NS, "other", "another-set", None, {})
    _set(None)
    assert followers.behind(NS, "pair") == []
    _set(NOT_READY)
    assert followers.behind(NS, "pair") == [("orders", "False:ConnectionNotReady")]


def test_forgotten_projects_are_not_nudged() -> None:
    _set(NOT_READY)
    _plans("orders")
    followers.forget(NS, "orders")
    _set(READY)
    assert followers.behind(NS, "pair") == []


def _ready_pair(entities: list[dict[str, Any]]) -> None:
    """A decided, Ready set whose crm Connection shows ``entities``."""
    rows = [_row("crm", True), _row("dwh", True)]
    status = {"observedGeneration": 1, "members": rows, "conditions": [READY]}
    refs = [{"name": n, "connectionRef": {"name": n}} for n in ("crm", "dwh")]
    meta = {"name": "pair", "namespace": NS, "generation": 1}
    body = {"metadata": meta, "spec": {"connections": refs}, "status": status}
    watched.observe("ConnectionSet", {"type": "MODIFIED"}, body)
    for name, catalog in (("crm", entities), ("dwh", [])):
        condition = {"type": "Ready", "status": "True", "reason": "X"}
        member = {"observedGeneration": 1, "conditions": [condition], "entities": catalog}
        _see("Connection", name, member)


def test_a_member_catalog_change_nudges_its_projects_while_the_set_stays_ready() -> None:
    _ready_pair([])
    _plans("orders")
    assert followers.behind(NS, "pair") == []  # planned with exactly these catalogs
    customers = [{"name": "customers", "fields": []}]
    _ready_pair(customers)
    digest = outcome_digest([{"type": "Ready", "status": "True"}], customers)
    assert followers.behind(NS, "pair") == [("orders", f"Connection/crm@{digest}")]
    assert followers.behind(NS, "pair") == []
    _plans("orders")
    assert followers.behind(NS, "pair") == []


def _row(connection: str, ready: bool, seen: bool = True) -> dict[str, Any]:
    row: dict[str, Any] = {"name": connection, "connection": connection, "ready": ready}
    if seen:
        row["type"] = "postgresql"
    return row


def test_decided_needs_a_verdict_its_members_copies_agree_with() -> None:
    assert not followers.decided(NS, "pair")  # not seen
    _set(None, [_row("crm", False)])
    assert not followers.decided(NS, "pair")  # no verdict
    _set(NOT_READY, [_row("crm", False), _row("dwh", False)])
    assert not followers.decided(NS, "pair")  # the Connections' copies are not here yet
    _connection("crm", None)
    _connection("dwh", False)
    assert not followers.decided(NS, "pair")  # crm not probed yet
    _connection("crm", True)
    assert not followers.decided(NS, "pair")  # crm is Ready, the set has not caught up
    _set(NOT_READY, [_row("crm", True), _row("dwh", False)])
    assert followers.decided(NS, "pair")  # not Ready, and that is the settled truth
    _set(NOT_READY, [_row("crm", True), _row("gone", False, seen=False)])
    assert followers.decided(NS, "pair")  # a member that does not exist is a verdict too
    _see("ConnectionSet", "pair", {"observedGeneration": 1, "conditions": [READY]}, generation=2)
    assert not followers.decided(NS, "pair")  # a verdict of the previous generation


def _project(observed: int | None = None, set_name: str = "pair") -> dict[str, Any]:
    status = {} if observed is None else {"observedGeneration": observed}
    meta = {"name": "orders", "namespace": NS, "generation": 1}
    return {"metadata": meta, "spec": {"connectionSetRef": {"name": set_name}}, "status": status}


def test_a_first_plan_waits_for_the_set_and_goes_on_when_it_decides() -> None:
    _set(None, [])

    async def scenario() -> float:
        started = time.monotonic()
        waiter = asyncio.create_task(followers.wait_until_decided(_project()))
        await asyncio.sleep(0.05)
        assert not waiter.done()
        _set(READY, [])
        followers.changed(NS)  # as the set's watch event handler does (on the loop)
        await asyncio.wait_for(waiter, timeout=1)
        return time.monotonic() - started

    assert asyncio.run(scenario()) < 1


def test_a_project_planned_for_this_generation_does_not_wait() -> None:
    async def scenario() -> None:
        await asyncio.wait_for(followers.wait_until_decided(_project(observed=1)), timeout=0.5)

    asyncio.run(scenario())


def test_the_wait_is_bounded_and_shorter_for_a_set_never_seen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(followers, "ABSENT_SET_WAIT_SECONDS", 0.05)
    monkeypatch.setattr(followers, "FIRST_PLAN_WAIT_SECONDS", 0.2)

    async def waited(project: dict[str, Any]) -> float:
        started = time.monotonic()
        await asyncio.wait_for(followers.wait_until_decided(project), timeout=2)
        return time.monotonic() - started

    assert asyncio.run(waited(_project(set_name="missing"))) < 0.15
    _set(None, [])
    assert 0.15 <= asyncio.run(waited(_project())) < 1


def test_a_nudge_that_could_not_be_sent_is_sent_on_the_next_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[tuple[str, str]] = []

    def annotate(kind: Any, namespace: str, name: str, cause: str, annotation: str) -> None:
        if not sent:
            sent.append(("refused", cause))
            raise ApiException(status=500, reason="Internal Server Error")
        sent.append((name, cause))

    monkeypatch.setattr(followers, "request_reconcile", annotate)
    _set(NOT_READY)
    _plans("orders")
    _set(READY)
    asyncio.run(followers.nudge(NS, ["pair"]))  # refused: remembered as not sent
    asyncio.run(followers.nudge(NS, ["pair"]))  # the next event of the set sends it
    assert sent == [
        ("refused", "ConnectionSet/pair@True:ConnectionsReady"),
        ("orders", "ConnectionSet/pair@True:ConnectionsReady"),
    ]
