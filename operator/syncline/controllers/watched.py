"""Connections and ConnectionSets as their watches last showed them, for project reconciles.

A project reconcile needs its set and both member Connections; reading them from the API
server cost three GETs per reconcile (a thousand projects reconcile about 3.5 times each
while they come up). The watches deliver every change anyway, so they are kept here,
trimmed to what validation reads.

A watch can lag behind another kind's watch: a project may be nudged by its set (the
annotation ``syncline.dev/upstream-set``) before the set's own watch event arrives here.
So :func:`fresh_enough` only trusts the copies when they agree with the latest set nudge
the project carries, and project.py reads from the API server whenever they do not, and
whenever its verdict is not Ready. A stale copy therefore costs at most the reads it was
meant to save, never a project that stays Ready (or not Ready) on outdated facts.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from typing import Any

from syncline.controllers.dependencies import SET_ANNOTATION
from syncline.controllers.status import is_ready, ready_condition

_lock = threading.Lock()
_objects: dict[tuple[str, str, str], dict[str, Any]] = {}
"""(kind, namespace, name) -> the trimmed object."""
KEPT_METADATA = ("name", "namespace", "uid", "generation", "resourceVersion")
ABSENT = "absent"


def observe(kind: str, event: Mapping[str, Any], body: Mapping[str, Any]) -> None:
    """Keep (or, on deletion, drop) an object from a watch event."""
    meta = body.get("metadata") or {}
    key = (kind, str(meta.get("namespace") or ""), str(meta.get("name") or ""))
    with _lock:
        if event.get("type") == "DELETED":
            _objects.pop(key, None)
            return
        _objects[key] = {
            "metadata": {k: meta[k] for k in KEPT_METADATA if k in meta},
            "spec": dict(body.get("spec") or {}),
            "status": dict(body.get("status") or {}),
        }


def get(kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    """The object as last seen, None when not seen (absent, or not yet delivered)."""
    with _lock:
        return _objects.get((kind, namespace, name))


def forget_all() -> None:
    """Drop every copy (tests point the operator at a fresh control plane)."""
    with _lock:
        _objects.clear()


def outcome_digest(conditions: Any, entities: Any) -> str:
    """A short fingerprint of what users of a Connection depend on: Ready and the catalog."""
    ready = ready_condition(conditions or [])
    state = {"ready": (ready or {}).get("status"), "entities": entities or []}
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:12]


def fresh_enough(
    project: Mapping[str, Any],
    connection_set: Mapping[str, Any],
    connections: Mapping[str, Mapping[str, Any] | None],
) -> bool:
    """Whether the copies agree with the last nudge the set sent this project.

    The set writes ``ConnectionSet/<name>@<Ready>:<reason>`` when its readiness changes
    (followers.py) and ``ConnectionSet/<name>@Connection/<member>@<digest>`` when a
    member's catalog changed while it stayed Ready (connectionset.py); anything else (a
    deletion) means
    the copies cannot be checked and the API server is asked.
    """
    annotations = (project.get("metadata") or {}).get("annotations") or {}
    cause = str(annotations.get(SET_ANNOTATION) or "")
    set_name = (connection_set.get("metadata") or {}).get("name")
    prefix = f"ConnectionSet/{set_name}@"
    if not cause.startswith(prefix):
        return True  # not nudged by this set yet: its first change will nudge (and check)
    what = cause.removeprefix(prefix)
    if what.startswith("Connection/"):
        member, _, digest = what.removeprefix("Connection/").partition("@")
        by_name = {(c.get("metadata") or {}).get("name"): c for c in connections.values() if c}
        status = (by_name.get(member) or {}).get("status") or {}
        return outcome_digest(status.get("conditions"), status.get("entities")) == digest
    return what == set_state(connection_set)


def set_state(connection_set: Mapping[str, Any] | None) -> str:
    """What a project's verdict depends on: whether its set is Ready, and why not (the
    value of the set's nudge, ``<Ready>:<reason>``)."""
    if connection_set is None:
        return ABSENT
    ready = ready_condition((connection_set.get("status") or {}).get("conditions"))
    return f"{is_ready(connection_set)}:{(ready or {}).get('reason')}"
