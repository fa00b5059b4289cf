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
import logging
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes.client.exceptions import ApiException

from syncline.controllers import kube, watched
from syncline.controllers.dependencies import SET_ANNOTATION, request_reconcile
from syncline.controllers.status import is_ready, ready_condition
from syncline.controllers.watched import ABSENT, outcome_digest, set_state

logger = logging.getLogger(__name__)
FIRST_PLAN_WAIT_SECONDS = 20.0
ABSENT_SET_WAIT_SECONDS = 3.0

_lock = threading.Lock()
_planned: dict[tuple[str, str], Planned] = {}
"""(namespace, project) -> the inputs its last plan used."""
_nudged: dict[tuple[str, str], str] = {}
"""(namespace, project) -> the nudge already sent since that plan."""
_wakeups: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Event]] = (
    weakref.WeakKeyDictionary()
)
"""loop -> namespace -> set when a set or Connection there changed (waiters re-check).
Per loop: an operator started again in the same process (the tests) runs a new one."""


@dataclass(frozen=True, slots=True)
class Planned:
    """What a project's verdict was built on: its set's state and, per member
    Connection (by name), the digest of its Ready and catalog."""

    set_name: str
    state: str
    members: tuple[tuple[str, str], ...]


def _planned_with(
    set_name: str,
    connection_set: Mapping[str, Any] | None,
    connections: Mapping[str, Mapping[str, Any] | None],
) -> Planned:
    digests = tuple(sorted((name, _digest(obj)) for name, obj in connections.items()))
    return Planned(set_name, set_state(connection_set), digests)


def _digest(connection: Mapping[str, Any] | None) -> str:
    if connection is None:
        return ABSENT
    status = connection.get("status") or {}
    return outcome_digest(status.get("conditions"), status.get("entities"))


def _member_names(connection_set: Mapping[str, Any] | None) -> list[str]:
    members = ((connection_set or {}).get("spec") or {}).get("connections") or []
    return [str(m["connectionRef"]["name"]) for m in members]


def read_copies(
    namespace: str, project: str, set_name: str
) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any] | None]]:
    """The watched copies of the set and its member Connections (by name), noting that
    ``project`` plans with them: one lock with :func:`behind`, so no change can fall
    between what the project read and what it is known to have read."""
    with _lock:
        copy = watched.get(kube.CONNECTION_SET.kind, namespace, set_name)
        connections = {
            name: watched.get(kube.CONNECTION.kind, namespace, name) for name in _member_names(copy)
        }
        _note(namespace, project, _planned_with(set_name, copy, connections))
        return copy, connections


def note_read(
    namespace: str,
    project: str,
    set_name: str,
    connection_set: Mapping[str, Any] | None,
    connections: Mapping[str, Mapping[str, Any] | None],
) -> None:
    """``project`` plans with these (read from the API server after :func:`read_copies`
    noted the copies, so a change in between has already nudged it)."""
    with _lock:
        _note(namespace, project, _planned_with(set_name, connection_set, connections))


def _note(namespace: str, project: str, planned: Planned) -> None:
    _planned[(namespace, project)] = planned
    _nudged.pop((namespace, project), None)


def forget(namespace: str, project: str) -> None:
    """A deleted project plans no more."""
    with _lock:
        _planned.pop((namespace, project), None)
        _nudged.pop((namespace, project), None)


def behind(namespace: str, set_name: str) -> list[tuple[str, str]]:
    """(project, nudge) for each project whose last plan used another state of the set,
    or, while the set is Ready and decided, another catalog of one of its members; each
    nudge once. A set without any verdict yet nudges nobody: it will have one soon, and
    that one is what the projects need. The nudge is what the set announces: its
    ``<Ready>:<reason>``, or ``Connection/<name>@<digest>`` (watched.fresh_enough)."""
    with _lock:
        copy = watched.get(kube.CONNECTION_SET.kind, namespace, set_name)
        if (
            copy is not None
            and ready_condition((copy.get("status") or {}).get("conditions")) is None
        ):
            return []
        state = set_state(copy)
        members: dict[str, str] = {}
        if is_ready(copy) and decided(namespace, set_name):
            members = {
                name: _digest(watched.get(kube.CONNECTION.kind, namespace, name))
                for name in _member_names(copy)
            }
        due: list[tuple[str, str]] = []
        for (ns, project), planned in _planned.items():
            if ns != namespace or planned.set_name != set_name:
                continue
            cause = state if planned.state != state else _member_cause(planned, members)
            if cause and _nudged.get((ns, project)) != cause:
                _nudged[(ns, project)] = cause
                due.append((project, cause))
        return sorted(due)


def _member_cause(planned: Planned, members: Mapping[str, str]) -> str:
    """The first member whose digest differs from the plan's ("" when none does)."""
    used = dict(planned.members)
    for name, digest in sorted(members.items()):
        if used.get(name) != digest:
            return f"Connection/{name}@{digest}"
    return ""


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


async def nudge(namespace: str, sets: list[str]) -> None:
    """Projects of these sets whose last plan used something the copies no longer show
    plan again (from the watch events of sets and Connections, on the event loop)."""
    due = [(name, project, what) for name in sets for project, what in behind(namespace, name)]
    if due:
        await asyncio.to_thread(_nudge, namespace, due)


def _nudge(namespace: str, due: list[tuple[str, str, str]]) -> None:
    """Annotate each project; one that cannot be annotated now is asked again on the next
    event of its set or members (at the latest the next connection-recheck's)."""
    for set_name, project, what in due:
        cause = f"ConnectionSet/{set_name}@{what}"
        try:
            request_reconcile(kube.PROJECT, namespace, project, cause, SET_ANNOTATION)
        except ApiException as err:
            if err.status == 404:
                continue  # deleted meanwhile: nothing to tell
            with _lock:
                if _nudged.get((namespace, project)) == what:
                    del _nudged[(namespace, project)]
            logger.warning(
                "could not nudge %s/%s (%s): %s %s",
                namespace,
                project,
                cause,
                err.status,
                err.reason,
            )
