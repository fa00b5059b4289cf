"""Write a reconcile's outcome: status (one merge patch) and an Event on transitions."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from syncline.controllers import kube
from syncline.controllers.status import Verdict, changed_ready, summarize
from syncline.observability.events import announce
from syncline.observability.metrics import RECORDER

logger = logging.getLogger(__name__)


def publish(
    kind: kube.Kind, body: Mapping[str, Any], verdict: Verdict, fields: dict[str, Any]
) -> bool:
    """Patch status with ``fields``, observedGeneration and the summarized conditions.

    Returns True when the Ready condition changed (dependents may need to re-check).
    """
    meta = body["metadata"]
    generation = meta.get("generation")
    # Conditions are written whole, so they are computed from the object as it is at the
    # write (a run's LastRunSucceeded may have landed since this reconcile began).
    previous = list((body.get("status") or {}).get("conditions") or [])

    def with_conditions(current: dict[str, Any]) -> dict[str, Any] | None:
        status = current.get("status") or {}
        previous[:] = status.get("conditions") or []
        conditions = summarize(verdict, generation, previous, datetime.now(UTC))
        wanted = {**fields, "observedGeneration": generation, "conditions": conditions}
        return None if unchanged(status, wanted) else wanted

    kube.update_status(kind, meta.get("namespace"), meta["name"], with_conditions)
    RECORDER.condition(
        kind.kind, meta.get("namespace") or "", meta["name"], "Ready", str(verdict.ready)
    )
    transition = changed_ready(previous, verdict)
    if transition:
        announce(body, ready=verdict.ready, reason=verdict.reason, message=verdict.message)
        logger.info(
            "%s %s/%s Ready=%s %s",
            kind.kind,
            meta.get("namespace") or "-",
            meta["name"],
            verdict.ready,
            verdict.reason,
        )
    return transition


def unchanged(status: Mapping[str, Any], patch: Mapping[str, Any]) -> bool:
    """Whether merge-patching ``patch`` into ``status`` would change nothing (a None in
    the patch deletes the field, so it matches a field that is absent). Skipping such a
    write saves an API call per repeated reconcile and a watch event for every watcher."""
    return all(
        status.get(key) is None if value is None else status.get(key) == value
        for key, value in patch.items()
    )
