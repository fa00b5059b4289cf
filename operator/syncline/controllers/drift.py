"""Drift correction: a CronJob edited by hand is put back to what its project declares.

The project reconcile remembers the manifest it applied; a watch on labelled CronJobs
compares every change with it and re-applies when a field we own differs. Without a
remembered manifest (right after a restart) the owning project is reconciled instead.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import kopf

from syncline.controllers import kube
from syncline.controllers.dependencies import request_reconcile
from syncline.scheduling.cronjob import PROJECT_LABEL, PROJECT_NAME_ANNOTATION

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_desired: dict[tuple[str, str], dict[str, Any]] = {}
_live: dict[tuple[str, str], tuple[str, str]] = {}
"""(namespace, CronJob) -> (its uid, its controller's uid), as the watch last showed it:
lets a reconcile skip reading a CronJob it already owns (see :func:`live_owned`)."""


def remember(manifest: dict[str, Any]) -> None:
    meta = manifest["metadata"]
    with _lock:
        _desired[(meta["namespace"], meta["name"])] = manifest


def forget(namespace: str, name: str) -> None:
    with _lock:
        _desired.pop((namespace, name), None)


def desired(namespace: str, name: str) -> dict[str, Any] | None:
    with _lock:
        return _desired.get((namespace, name))


def live_owned(namespace: str, name: str, owner_uid: str) -> str | None:
    """The uid of the CronJob if the watch last showed it controlled by ``owner_uid``.

    A watch can lag: the CronJob may have been deleted since. A caller that applies it
    anyway compares this uid with the applied object's to notice a re-creation; for any
    other answer (not seen, someone else's) it reads the CronJob itself."""
    with _lock:
        seen = _live.get((namespace, name))
    return seen[0] if seen is not None and seen[1] == owner_uid else None


def _observe(event: kopf.RawEvent, meta: Any) -> None:
    key = (meta["namespace"], meta["name"])
    with _lock:
        if event.get("type") == "DELETED":
            _live.pop(key, None)
            return
        refs = meta.get("ownerReferences") or []
        owner = next((str(r.get("uid")) for r in refs if r.get("controller")), "")
        _live[key] = (str(meta.get("uid") or ""), owner)


def is_subset(wanted: Any, actual: Any) -> bool:
    """Whether every value in ``wanted`` is present and equal in ``actual``.

    The API server adds defaults (so ``actual`` has more keys), but a list must have the
    same length: an extra env var or container is drift as well.
    """
    if isinstance(wanted, dict):
        return isinstance(actual, dict) and all(
            k in actual and is_subset(v, actual[k]) for k, v in wanted.items()
        )
    if isinstance(wanted, list):
        return (
            isinstance(actual, list)
            and len(wanted) == len(actual)
            and all(is_subset(w, a) for w, a in zip(wanted, actual, strict=True))
        )
    return bool(wanted == actual)


def drifted(manifest: dict[str, Any], actual: dict[str, Any]) -> bool:
    """True when the spec, labels or owner of the live CronJob differ from the manifest."""
    meta, live = manifest["metadata"], actual.get("metadata") or {}
    return not (
        is_subset(manifest["spec"], actual.get("spec"))
        and is_subset(meta["labels"], live.get("labels"))
        and is_subset(meta["ownerReferences"], live.get("ownerReferences"))
    )


@kopf.on.event("batch", "v1", "cronjobs", labels={PROJECT_LABEL: kopf.PRESENT})
async def cronjob_event(event: kopf.RawEvent, body: kopf.Body, **_: Any) -> None:
    """Put a hand-edited CronJob back; recreate a deleted one via its project.

    Async: the comparison is in memory; only a write goes to a thread."""
    meta = body["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    _observe(event, meta)
    project = (meta.get("annotations") or {}).get(PROJECT_NAME_ANNOTATION)
    if not project:
        return
    manifest = desired(namespace, name)
    if event.get("type") == "DELETED" or manifest is None:
        cause = f"CronJob/{name}:{event.get('type')}:{meta.get('resourceVersion')}"
        await asyncio.to_thread(request_reconcile, kube.PROJECT, namespace, project, cause)
        return
    if drifted(manifest, dict(body)):
        logger.info("CronJob %s/%s was changed by hand; restoring it", namespace, name)
        await asyncio.to_thread(kube.apply_cronjob, manifest)
