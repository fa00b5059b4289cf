"""Sending one run's due notifications (on the notification pool) and recording them.

Every text that leaves here — the email, the webhook body, the run's records, Events —
passes through the shared scrubber (:mod:`syncline.redaction`, as Connection errors do)
built from every secret value the operator can know for the project: the credentials of
its ConnectionSet's Connections, the SMTP login and the webhook URLs. Row values never
get this far: a notification names row errors by code, task and field only.

Also here, because both the claim (:mod:`syncline.controllers.notifications`) and the
sending need them: the SMTP settings check, a webhook's URL from its Secret, and the
Event and metric of a settled record (a failure is a Warning Event NotificationFailed; a
skip the user must fix, one named after its code).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from syncline.api.project import EmailNotification, IntegrationProjectSpec, WebhookNotification
from syncline.api.run import DeliveryResult, IntegrationRun, NotificationChannel
from syncline.controllers import kube
from syncline.controllers.settings import OperatorSettings, current
from syncline.errors import BY_CODE, SynclineError
from syncline.history.records import rfc3339
from syncline.observability.events import warn
from syncline.observability.metrics import RECORDER
from syncline.observability.notifications.delivery import Delivery, with_retries
from syncline.observability.notifications.mail import email_message
from syncline.observability.notifications.payloads import payload
from syncline.observability.notifications.policy import Decision, Occasion, Standing
from syncline.observability.notifications.recipients import parse_recipients
from syncline.observability.notifications.smtp import SmtpLogin, SmtpServer, send_mail, smtp_server
from syncline.observability.notifications.summary import RunSummary, summarize_run
from syncline.observability.notifications.webhook import post_json, webhook_target
from syncline.redaction import Redactor

logger = logging.getLogger(__name__)
SMTP_SECRET_KEYS = ("username", "password")


def send_due(
    run_body: Mapping[str, Any],
    project: Mapping[str, Any],
    standing: Standing,
    due: list[Decision],
) -> None:
    """Send each due channel, then record the outcomes on the run (never raises: the
    pool would swallow it)."""
    run = IntegrationRun.model_validate(run_body)
    try:
        records = deliver(
            run, IntegrationProjectSpec.model_validate(project["spec"]), standing, due
        )
        record_outcomes(run.metadata.namespace or "", run.metadata.name or "", records)
        for record in records:
            settled(project, record, run.metadata.name or "")
        if any(r["result"] == DeliveryResult.SENT.value for r in records):
            remember_sent(project, run.metadata.name or "")
    except Exception:
        logger.exception("notifications of run %s were not recorded", run.metadata.name)


def deliver(
    run: IntegrationRun, spec: IntegrationProjectSpec, standing: Standing, due: list[Decision]
) -> list[dict[str, Any]]:
    """One final record per due channel (Sent or Failed), in order."""
    settings = current()
    notifications = spec.notifications
    assert notifications is not None
    secrets = connection_secrets(run.metadata.namespace or "", spec)
    hooks = {h.name: h for h in notifications.webhooks}
    records = []
    for decision in due:
        try:
            if decision.channel is NotificationChannel.EMAIL:
                assert notifications.email is not None
                records.append(
                    send_email(run, standing, decision, notifications.email, settings, secrets)
                )
            else:
                hook = hooks[decision.name]
                records.append(send_webhook(run, standing, decision, hook, settings, secrets))
        except SynclineError as err:  # nothing was attempted: a Secret, the configuration
            records.append(final(decision, DeliveryResult.FAILED, 0, str(err), err.code))
        except Exception as err:  # a bug must not leave the record Pending
            logger.exception("notification %s of run %s", decision.name, run.metadata.name)
            detail = f"{type(err).__name__} while sending"
            records.append(failure(decision, Delivery(sent=False, attempts=0, detail=detail)))
    return records


def send_email(
    run: IntegrationRun,
    standing: Standing,
    decision: Decision,
    email: EmailNotification,
    settings: OperatorSettings,
    secrets: list[str],
) -> dict[str, Any]:
    server = email_server(settings)
    login = smtp_login(settings.smtp_secret)
    recipients = parse_recipients(email.to)
    redactor = Redactor([*secrets, *((login.username, login.password) if login else ())])
    summary = _summary(run, standing, decision, redactor)
    message = email_message(summary, server.sender, recipients.addresses, email.remind_every)
    delivery = with_retries(
        lambda: send_mail(
            server, login, message, recipients.addresses, settings.notification_timeout_seconds
        ),
        settings.notification_attempts,
        settings.notification_backoff_seconds,
    )
    delivery = Delivery(delivery.sent, delivery.attempts, redactor(delivery.detail))
    if recipients.invalid and delivery.sent:
        skipped = "; ".join(str(e) for e in recipients.invalid)
        delivery = Delivery(True, delivery.attempts, f"{delivery.detail}; not sent to: {skipped}")
    return outcome(decision, delivery)


def send_webhook(
    run: IntegrationRun,
    standing: Standing,
    decision: Decision,
    hook: WebhookNotification,
    settings: OperatorSettings,
    secrets: list[str],
) -> dict[str, Any]:
    url = webhook_url(run.metadata.namespace or "", hook.name, hook.url_secret_ref.name)
    redactor = Redactor([*secrets, url, *_url_parts(url)])
    body = payload(hook.format, _summary(run, standing, decision, redactor))
    delivery = with_retries(
        lambda: post_json(url, body, settings.notification_timeout_seconds),
        settings.notification_attempts,
        settings.notification_backoff_seconds,
    )
    return outcome(decision, Delivery(delivery.sent, delivery.attempts, redactor(delivery.detail)))


def _summary(
    run: IntegrationRun, standing: Standing, decision: Decision, redactor: Redactor
) -> RunSummary:
    return summarize_run(run, standing, decision.occasion or Occasion.CHANGED, redactor)


def _url_parts(url: str) -> list[str]:
    """The parts of a webhook URL that may be its token (path, query, user info)."""
    parts = urlsplit(url)
    found = [parts.path if len(parts.path) > 1 else "", parts.query, parts.password or ""]
    return [p for p in found if p]


def outcome(decision: Decision, delivery: Delivery) -> dict[str, Any]:
    if delivery.sent:
        return final(decision, DeliveryResult.SENT, delivery.attempts, delivery.detail)
    return failure(decision, delivery)


def failure(decision: Decision, delivery: Delivery) -> dict[str, Any]:
    channel = (
        "email" if decision.channel is NotificationChannel.EMAIL else f"webhook {decision.name}"
    )
    error = SynclineError("NotificationFailed", name=channel, detail=delivery.detail)
    return final(decision, DeliveryResult.FAILED, delivery.attempts, str(error), error.code)


def final(
    decision: Decision,
    result: DeliveryResult,
    attempts: int,
    message: str,
    code: int | None = None,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "channel": decision.channel.value,
        "name": decision.name,
        "result": result.value,
        "attempts": attempts,
        "message": message[:1000],
        "time": rfc3339(datetime.now(UTC)),
    }
    if code is not None:
        record["code"] = code
    return record


def smtp_login(reference: str) -> SmtpLogin | None:
    """The login in the Secret named by SYNCLINE_SMTP_SECRET; None without one."""
    if not reference:
        return None
    namespace, name = reference.split("/", 1)
    data = kube.read_secret(namespace, name)
    where = f"Secret {reference} (SYNCLINE_SMTP_SECRET)"
    if data is None:
        raise SynclineError("EmailNotConfigured", detail=f"{where} does not exist")
    missing = [k for k in SMTP_SECRET_KEYS if not data.get(k)]
    if missing:
        detail = f"{where} has no key {', '.join(missing)}"
        raise SynclineError("EmailNotConfigured", detail=detail)
    return SmtpLogin(data["username"], data["password"])


def connection_secrets(namespace: str, spec: IntegrationProjectSpec) -> list[str]:
    """Every value of the Secrets of the project's Connections (best effort: what cannot
    be read cannot be scrubbed, and the engine scrubbed the run's texts already)."""
    values: list[str] = []
    try:
        pair = kube.get_object(kube.CONNECTION_SET, namespace, spec.connection_set_ref.name)
        for member in ((pair or {}).get("spec") or {}).get("connections") or []:
            connection = kube.get_object(
                kube.CONNECTION, namespace, member["connectionRef"]["name"]
            )
            credentials = ((connection or {}).get("spec") or {}).get("credentials") or {}
            secret = (credentials.get("secretRef") or {}).get("name")
            data = kube.read_secret(namespace, secret) if secret else None
            values += list((data or {}).values())
    except Exception as err:  # forbidden, gone, an API hiccup: scrub what we have
        logger.info("connection secrets of %s not all read: %s", namespace, type(err).__name__)
    return values


def record_outcomes(namespace: str, run: str, records: list[dict[str, Any]]) -> None:
    """Replace the run's Pending records with their outcomes (other records stay)."""
    by_channel = {(r["channel"], r["name"]): r for r in records}

    def replaced(current_run: dict[str, Any]) -> dict[str, Any] | None:
        present = (current_run.get("status") or {}).get("notifications") or []
        merged = [by_channel.get((r.get("channel"), r.get("name")), r) for r in present]
        return {"notifications": merged}

    kube.update_status(kube.RUN, namespace, run, replaced)


def remember_sent(project: Mapping[str, Any], run: str) -> None:
    """``status.notifications.lastSent*`` of the project (never moved back in time)."""
    meta = project["metadata"]
    now = rfc3339(datetime.now(UTC))

    def sent(current_project: dict[str, Any]) -> dict[str, Any] | None:
        state = (current_project.get("status") or {}).get("notifications")
        if not state or str(state.get("lastSentTime") or "") > now:
            return None
        return {"notifications": {"lastSentRun": run, "lastSentTime": now}}

    kube.update_status(kube.PROJECT, meta["namespace"], meta["name"], sent)


def email_server(settings: OperatorSettings) -> SmtpServer:
    """The operator's SMTP server; 2602 EmailNotConfigured saying what is missing."""
    server = smtp_server(settings.smtp_url, settings.smtp_from, settings.smtp_ca_file)
    if settings.smtp_secret and len(settings.smtp_secret.split("/")) != 2:
        detail = f"SYNCLINE_SMTP_SECRET {settings.smtp_secret!r} must be namespace/name"
        raise SynclineError("EmailNotConfigured", detail=detail)
    return server


def webhook_url(namespace: str, hook: str, secret: str) -> str:
    """The URL in the webhook's Secret; 2100, 2102 or 2603 when there is no usable one."""
    data = kube.read_secret(namespace, secret)
    if data is None:
        raise SynclineError("SecretNotFound", name=secret, namespace=namespace)
    url = (data.get("url") or "").strip()
    if not url:
        raise SynclineError("WebhookUrlInvalid", name=hook, secret=secret, detail="has no key url")
    if webhook_target(url) is None:
        detail = "key url is not an http:// or https:// URL"
        raise SynclineError("WebhookUrlInvalid", name=hook, secret=secret, detail=detail)
    return url


def settled(project: Mapping[str, Any], record: Mapping[str, Any], run: str) -> None:
    """Count a final record; a failure, or a skip the user must fix, is a Warning Event."""
    RECORDER.notification(str(record["channel"]), str(record["result"]))
    code = record.get("code")
    if code is None:
        return
    spec = BY_CODE.get(int(code))
    failed = record["result"] == DeliveryResult.FAILED.value
    reason = "NotificationFailed" if failed or spec is None else spec.name
    warn(project, reason=reason, message=f"{record['message']} (run {run})")
