"""Which state of its ConnectionSet each project last planned with, and a first plan
that waits until the set has decided.

A thousand projects applied with their sets used to be reconciled about 3.5 times
each: once on creation (set not checked yet), again when the set said "not Ready"
while its Connections were probed, again when it turned Ready. Two rules cut that to
one (bench/RESULTS.md, issue 14 item 4):

- **A set nudges only the projects that planned with another state of it.** The
  nudge is sent from the set's watch event, after the copy in controllers/watched.py
  shows the new state; a project reads that copy and records the state it planned
  with under one lock. So either the project saw the new state, or its record is
  older and the nudge goes out: no project can keep a verdict built on a state that
  is no longer the set's. A project that has not planned yet needs no nudge: its
  plan will read the copy as it is then.
- **A project's first plan of a generation waits until its set has decided**
  (:func:`wait_until_decided`): the set has a verdict for its generation, and for
  each member the Ready it assessed is the Ready its Connection's copy shows. The
  wait is bounded (:data:`FIRST_PLAN_WAIT_SECONDS`; a set not seen at all, which may
  simply not exist, :data:`ABSENT_SET_WAIT_SECONDS`), after which the project plans
  with what there is and is nudged if that changes.

What is kept lives in this process only: after a restart every project is resumed
(and plans, and records) anyway.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections.abc import Mapping
from typing import Any

from syncline.controllers import kube, watched
from syncline.controllers.status import is_ready, ready_condition
from syncline.controllers.watched import set_state

FIRST_PLAN_WAIT_SECONDS = 20.0
ABSENT_SET_WAIT_SECONDS = 3.0

_lock = threading.Lock()
_planned: dict[tuple[str, str], tuple[str, str]] = {}
"""(namespace, project) -> (set name, the set's state the last plan used)."""
_nudged: dict[tuple[str, str], str] = {}
"""(namespace, project) -> the set state a nudge already asked it to plan with."""
_wakeups: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Event]] = (
    weakref.WeakKeyDictionary()
)
"""loop -> namespace -> set when a set or Connection there changed (waiters re-check).
Per loop: an operator started again in the same process (the tests) runs a new one."""


def read_set(namespace: str, project: str, set_name: str) -> dict[str, Any] | None:
    """The set's watched copy, noting that ``project`` plans with the state it shows."""
    with _lock:
        copy = watched.get(kube.CONNECTION_SET.kind, namespace, set_name)
        _note(namespace, project, set_name, copy)
        return copy


def note_read(
    namespace: str, project: str, set_name: str, connection_set: Mapping[str, Any] | None
) -> None:
    """``project`` plans with the set as just read from the API server."""
    with _lock:
        _note(namespace, project, set_name, connection_set)


def _note(
    namespace: str, project: str, set_name: str, connection_set: Mapping[str, Any] | None
) -> None:
    _planned[(namespace, project)] = (set_name, set_state(connection_set))
    _nudged.pop((namespace, project), None)


def forget(namespace: str, project: str) -> None:
    """A deleted project plans no more."""
    with _lock:
        _planned.pop((namespace, project), None)
        _nudged.pop((namespace, project), None)


def behind(namespace: str, set_name: str) -> tuple[str, list[str]]:
    """The set's state as its copy shows it, and the projects that planned with another
    one and were not yet nudged for it. A set without any verdict yet nudges nobody: it
    will have one soon, and that one is what the projects need."""
    with _lock:
        copy = watched.get(kube.CONNECTION_SET.kind, namespace, set_name)
        if (
            copy is not None
            and ready_condition((copy.get("status") or {}).get("conditions")) is None
        ):
            return set_state(copy), []
        state = set_state(copy)
        stale = [
            project
            for (ns, project), (planned_set, planned) in _planned.items()
            if ns == namespace
            and planned_set == set_name
            and planned != state
            and _nudged.get((ns, project)) != state
        ]
        for project in stale:
            _nudged[(namespace, project)] = state
        return state, sorted(stale)


def decided(namespace: str, set_name: str) -> bool:
    """Whether the set's copy holds a verdict its members' copies agree with."""
    copy = watched.get(kube.CONNECTION_SET.kind, namespace, set_name)
    if copy is None:
        return False
    meta, status = copy.get("metadata") or {}, copy.get("status") or {}
    if ready_condition(status.get("conditions")) is None:
        return False
    if (
        meta.get("generation") is not None
        and status.get("observedGeneration") != meta["generation"]
    ):
        return False
    for row in status.get("members") or []:
        connection = watched.get(kube.CONNECTION.kind, namespace, str(row.get("connection")))
        if connection is None:
            if row.get("type") is not None:  # the set saw it: our watch has not yet
                return False
            continue
        conditions = (connection.get("status") or {}).get("conditions")
        if ready_condition(conditions) is None:  # not probed yet: its verdict is coming
            return False
        if is_ready(connection) != bool(row.get("ready")):  # the set has not caught up
            return False
    return True


def changed(namespace: str) -> None:
    """A set or Connection in ``namespace`` changed: waiting first plans re-check.
    Called on the event loop (the watch event handlers)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no loop, so nobody can be waiting
        return
    event = _wakeups.get(loop, {}).pop(namespace, None)
    if event is not None:
        event.set()


async def wait_until_decided(body: Mapping[str, Any]) -> None:
    """Before the first plan of a generation, let the project's set decide (bounded)."""
    meta, status = body.get("metadata") or {}, body.get("status") or {}
    if status.get("observedGeneration") == meta.get("generation"):
        return  # planned this generation before: a nudge or an edit of metadata
    set_name = ((body.get("spec") or {}).get("connectionSetRef") or {}).get("name")
    namespace = str(meta.get("namespace") or "")
    if not set_name:
        return
    start = time.monotonic()
    while not decided(namespace, set_name):
        seen = watched.get(kube.CONNECTION_SET.kind, namespace, set_name) is not None
        limit = FIRST_PLAN_WAIT_SECONDS if seen else ABSENT_SET_WAIT_SECONDS
        left = start + limit - time.monotonic()
        if left <= 0:
            return
        waiting = _wakeups.setdefault(asyncio.get_running_loop(), {})
        event = waiting.setdefault(namespace, asyncio.Event())
        try:
            await asyncio.wait_for(event.wait(), timeout=left)
        except TimeoutError:
            return
