"""Notifications about finished runs: decided with the fold, claimed once, sent off-thread.

1. ``fold_into_project`` writes the project's standing (``status.notifications``: the last
   run's outcome, how many runs in a row ended that way) in the same conditional status
   write as ``lastRun``, so runs are counted once whatever replays.
2. :func:`notify_run` asks the policy which channels are due. The run's status then gets
   one record per channel, written only while it has none (a fresh read and the
   resourceVersion: the claim). Whoever wins the claim sends; a replayed event, a stale
   body or a restarted operator finds the records and sends nothing.
3. Due channels are sent on the operator's own small pool (SMTP and webhook calls are
   bounded: attempts times the timeout plus backoff), never on kopf's handler threads; then
   their records become Sent or Failed (:mod:`syncline.controllers.notify_send`).

An operator killed between 1 and 2 claims on its next start (kopf lists every run, and
the project's standing still names this run). Killed between claiming and recording, a
record stays Pending: never sent twice, at worst not sent. A failed notification never
touches the run's result: it is a Warning Event and a metric.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from syncline.api.project import (
    IntegrationProjectSpec,
    IntegrationProjectStatus,
    Notifications,
    NotificationState,
)
from syncline.api.run import DeliveryResult, IntegrationRun, NotificationChannel
from syncline.controllers import kube
from syncline.controllers.notify_send import email_server, send_due, settled, webhook_url
from syncline.controllers.settings import OperatorSettings, current
from syncline.controllers.status import ready_condition
from syncline.errors import SynclineError
from syncline.history.records import rfc3339
from syncline.observability.events import warn
from syncline.observability.notifications.policy import (
    Decision,
    decisions,
    standing_after,
    standing_of,
    state_of,
)
from syncline.observability.notifications.recipients import parse_recipients

logger = logging.getLogger(__name__)
_senders = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="notify")


def standing_fields(run: IntegrationRun, status: IntegrationProjectStatus) -> dict[str, Any]:
    """The project's new ``status.notifications`` after a newer finished run (merged into
    the fold's write; ``lastSent*`` stay as they are)."""
    assert run.status is not None
    last = status.last_run
    standing = standing_after(
        status.notifications,
        last.result if last else None,
        last.name if last else None,
        run.metadata.name or "",
        run.status.result,
    )
    return {"notifications": state_of(standing).to_wire()}


def notify_after_fold(run_body: Mapping[str, Any], project: Mapping[str, Any]) -> None:
    """:func:`notify_run`, whose failure (an API hiccup while claiming) is logged: the
    fold is done, and the run's next event (or the next start) tries again."""
    try:
        notify_run(run_body, project)
    except Exception:
        name = (run_body.get("metadata") or {}).get("name")
        logger.exception("notifications of run %s not claimed; retried on its next event", name)


def notify_run(run_body: Mapping[str, Any], project: Mapping[str, Any]) -> None:
    """Claim and send the run's notifications, if it has any and nobody claimed them.

    ``project`` is the project as written by the fold (or read by it, on a replay): its
    standing must be about this run, else there is nothing (more) to do.
    """
    run = IntegrationRun.model_validate(run_body)
    if run.status is None or run.status.notifications:
        return
    state = (project.get("status") or {}).get("notifications") or {}
    if state.get("run") != run.metadata.name:
        return
    try:
        spec = IntegrationProjectSpec.model_validate(project.get("spec") or {})
        standing = standing_of(NotificationState.model_validate(state), run.status.result)
    except ValidationError:
        return  # an invalid project is reported by its reconcile
    found = decisions(spec.notifications, standing)
    if not found:
        return
    records = [first_record(d, spec.notifications, current()) for d in found]
    namespace, name = run.metadata.namespace or "", run.metadata.name or ""

    def unclaimed(current_run: dict[str, Any]) -> dict[str, Any] | None:
        taken = (current_run.get("status") or {}).get("notifications")
        return None if taken else {"notifications": records}

    if kube.update_status(kube.RUN, namespace, name, unclaimed) is None:
        return  # claimed before (a replay), or the run is gone
    for record in records:
        if record["result"] == DeliveryResult.SKIPPED.value:
            settled(project, record, name)
    due = [d for d, r in zip(found, records, strict=True) if r["result"] == "Pending"]
    if due:
        context = contextvars.copy_context()  # kopf's event poster lives in the context
        _senders.submit(context.run, send_due, dict(run_body), dict(project), standing, due)


def first_record(
    decision: Decision, notifications: Notifications | None, settings: OperatorSettings
) -> dict[str, Any]:
    """The claim's record of one channel: Pending when it is to be sent, else Skipped
    with the reason (and a code when the user has something to fix)."""
    record: dict[str, Any] = {
        "channel": decision.channel.value,
        "name": decision.name,
        "result": DeliveryResult.PENDING.value,
        "attempts": 0,
        "message": decision.reason,
    }
    problem = None
    if decision.due and decision.channel is NotificationChannel.EMAIL:
        problem = email_problem(notifications, settings)
    if not decision.due or problem is not None:
        record["result"] = DeliveryResult.SKIPPED.value
        record["time"] = rfc3339(datetime.now(UTC))
    if problem is not None:
        record["code"], record["message"] = problem.code, str(problem)
    return record


def email_problem(
    notifications: Notifications | None, settings: OperatorSettings
) -> SynclineError | None:
    """Why no email can be sent at all (no SMTP server, no valid recipient); None if it can."""
    email = notifications.email if notifications else None
    if email is None:
        return None
    try:
        email_server(settings)
    except SynclineError as err:
        return err
    recipients = parse_recipients(email.to)
    return None if recipients.addresses else recipients.invalid[0]


def notification_notes(body: Mapping[str, Any], spec: IntegrationProjectSpec) -> list[str]:
    """What keeps the project's notifications from working, for Ready's message; each new
    one is also a Warning Event. Data still moves: none of these blocks the project."""
    namespace = body["metadata"]["namespace"]
    problems = configuration_problems(namespace, spec.notifications, current())
    ready = ready_condition((body.get("status") or {}).get("conditions")) or {}
    for problem in problems:
        if str(problem) not in str(ready.get("message") or ""):
            warn(body, reason=problem.name, message=str(problem))
    return [str(p) for p in problems]


def configuration_problems(
    namespace: str, notifications: Notifications | None, settings: OperatorSettings
) -> list[SynclineError]:
    """No SMTP server, invalid recipients, webhook Secrets missing or without a URL."""
    if notifications is None:
        return []
    problems: list[SynclineError] = []
    if notifications.email is not None:
        try:
            email_server(settings)
        except SynclineError as err:
            problems.append(err)
        problems += parse_recipients(notifications.email.to).invalid
    for hook in notifications.webhooks:
        try:
            webhook_url(namespace, hook.name, hook.url_secret_ref.name)
        except SynclineError as err:
            problems.append(err)
    return problems
