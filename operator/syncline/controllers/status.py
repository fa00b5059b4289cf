"""The one place that writes conditions: a reconcile's verdict becomes status + an Event.

Reconcile steps never touch conditions. They return findings (catalog errors); the
summarizer turns them into ``Ready`` (always present), ``Reconciling`` (only while the
operator waits for something that may fix itself) and ``Stalled`` (only while a user
must change something), keeping ``lastTransitionTime`` stable when nothing changed and
leaving condition types it does not own (e.g. ``LastRunSucceeded``) untouched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from syncline.errors import SynclineError

READY, RECONCILING, STALLED = "Ready", "Reconciling", "Stalled"
LAST_RUN_SUCCEEDED = "LastRunSucceeded"
OWNED_TYPES = (READY, RECONCILING, STALLED)
MAX_MESSAGE = 2000

TRANSIENT_CODES = frozenset({2000, 2003, 2005, 2006, 2007, 2100, 2102, 2400})
"""Failures that can clear without a spec change (a server comes back, a Secret or a
dependency appears, the next scheduled run retries a failed one): Reconciling. Anything
else needs the user: Stalled."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one reconcile concluded: Ready with a reason, or the errors that block it."""

    reason: str
    message: str
    errors: tuple[SynclineError, ...] = field(default=())

    @property
    def ready(self) -> bool:
        return not self.errors

    @property
    def transient(self) -> bool:
        return bool(self.errors) and all(e.code in TRANSIENT_CODES for e in self.errors)


def succeeded(reason: str, message: str) -> Verdict:
    return Verdict(reason=reason, message=message)


def failed(errors: Sequence[SynclineError]) -> Verdict:
    """Ready=False; the reason is the first error's name, the message lists them all."""
    if not errors:
        raise ValueError("failed() needs at least one error")
    message = "; ".join(str(e) for e in errors)
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 20] + f" ... ({len(errors)} errors)"
    return Verdict(reason=errors[0].name, message=message, errors=tuple(errors))


def summarize(
    verdict: Verdict,
    generation: int | None,
    previous: Sequence[dict[str, Any]],
    now: datetime,
) -> list[dict[str, Any]]:
    """The new conditions list (wire form) for ``verdict``."""
    wanted = [_condition(READY, verdict.ready, verdict.reason, verdict.message)]
    if not verdict.ready:
        waiting = RECONCILING if verdict.transient else STALLED
        wanted.append(_condition(waiting, True, verdict.reason, verdict.message))
    before = {c.get("type"): c for c in previous}
    result = [c for c in previous if c.get("type") not in OWNED_TYPES]
    for condition in wanted:
        old = before.get(condition["type"])
        unchanged = old is not None and old.get("status") == condition["status"]
        condition["lastTransitionTime"] = (
            old.get("lastTransitionTime") if unchanged and old else None
        ) or now.strftime("%Y-%m-%dT%H:%M:%SZ")
        if generation is not None:
            condition["observedGeneration"] = generation
        result.append(condition)
    order = {t: i for i, t in enumerate(OWNED_TYPES)}
    return sorted(result, key=lambda c: order.get(c.get("type", ""), len(order)))


def last_run_condition(
    previous: Sequence[dict[str, Any]], result: str, message: str, now: datetime
) -> list[dict[str, Any]]:
    """``previous`` with LastRunSucceeded set from a finished run's result.

    Completed and Warning runs moved their data (Warning: some rows failed and are in
    the quarantine); Error runs did not. The reason is the result itself.
    """
    holds = result in ("Completed", "Warning")
    condition = _condition(LAST_RUN_SUCCEEDED, holds, result, message)
    old = next((c for c in previous if c.get("type") == LAST_RUN_SUCCEEDED), None)
    same = old is not None and old.get("status") == condition["status"]
    condition["lastTransitionTime"] = (
        old.get("lastTransitionTime") if same and old else None
    ) or now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return [c for c in previous if c.get("type") != LAST_RUN_SUCCEEDED] + [condition]


def _condition(kind: str, holds: bool, reason: str, message: str) -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True" if holds else "False",
        "reason": reason,
        "message": message,
    }


def ready_condition(conditions: Sequence[dict[str, Any]] | None) -> dict[str, Any] | None:
    """The Ready condition of a status, if any."""
    return next((c for c in conditions or () if c.get("type") == READY), None)


def is_ready(obj: Mapping[str, Any] | None) -> bool:
    """Ready=True and computed for the object's current generation (not a stale verdict)."""
    if obj is None:
        return False
    status = obj.get("status") or {}
    condition = ready_condition(status.get("conditions"))
    generation = obj.get("metadata", {}).get("generation")
    current = generation is None or status.get("observedGeneration") == generation
    return bool(condition and condition.get("status") == "True" and current)


def changed_ready(previous: Sequence[dict[str, Any]], verdict: Verdict) -> bool:
    """Whether Ready's status, reason or message differs: worth an Event."""
    old = ready_condition(previous)
    if old is None:
        return True
    return (
        old.get("status") != ("True" if verdict.ready else "False")
        or old.get("reason") != verdict.reason
        or old.get("message") != verdict.message
    )
