"""Webhook bodies: Syncline's generic JSON, a Slack message and a Microsoft Teams card.

The shapes are documented (with JSON Schemas) in docs/notifications.md; the tests check
what a real HTTP receiver gets against those schemas. All three are built from the same
:class:`RunSummary`, so they carry the same facts and the same scrubbed text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from syncline.api.project import WebhookFormat
from syncline.observability.notifications.summary import RunSummary

GENERIC_SCHEMA_ID = "syncline.dev/run-notification/v1"
SLACK_HEADER_MAX = 150
SLACK_TEXT_MAX = 2900
_COLOURS = {"Completed": "Good", "Recovered": "Good", "Warning": "Warning", "Error": "Attention"}
_EMOJI = {"Completed": "✅", "Recovered": "✅", "Warning": "⚠️", "Error": "❌"}


def payload(format: WebhookFormat, summary: RunSummary) -> dict[str, Any]:
    """The JSON body for a webhook of ``format``."""
    if format is WebhookFormat.SLACK:
        return slack(summary)
    if format is WebhookFormat.TEAMS:
        return teams(summary)
    return generic(summary)


def generic(s: RunSummary) -> dict[str, Any]:
    """Syncline's own body: every fact, machine-readable; absent values are null."""
    cli, kubectl = s.log_commands
    return {
        "schema": GENERIC_SCHEMA_ID,
        "text": s.headline,
        "occasion": s.occasion.value,
        "outcome": s.outcome,
        "consecutiveRuns": s.consecutive_runs,
        "project": {"namespace": s.namespace, "name": s.project},
        "run": {
            "name": s.run,
            "trigger": s.trigger,
            "result": s.result,
            "startTime": _time(s.start_time),
            "completionTime": _time(s.completion_time),
            "durationSeconds": s.duration_seconds,
            "message": s.message,
        },
        "counts": dict(s.counts),
        "problems": [
            {
                "severity": p.severity,
                "code": p.code,
                "name": p.name,
                "message": p.message,
                "task": p.task,
                "field": p.field,
                "count": p.count,
            }
            for p in s.problems
        ],
        "problemsTotal": s.problems_total,
        "log": {"cli": cli, "kubectl": kubectl},
    }


def slack(s: RunSummary) -> dict[str, Any]:
    """A Slack incoming-webhook message: ``text`` (the notification) and Block Kit blocks."""
    cli, kubectl = s.log_commands
    title = f"{_EMOJI.get(s.outcome, '')} {s.headline}".strip()
    fields = [
        ("Project", f"{s.namespace}/{s.project}"),
        ("Run", f"{s.run} ({s.trigger})"),
        ("Result", s.result),
        ("Outcome", _occasion(s)),
        ("Finished", _time(s.completion_time) or "-"),
        ("Counts", _counts(s)),
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(title, SLACK_HEADER_MAX)}},
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{_slack_escape(v)}"} for k, v in fields],
        },
    ]
    if s.problems:
        lines = [f"• {_slack_escape(p.line())}" for p in s.problems]
        more = s.problems_total - len(s.problems)
        lines += [f"… and {more} more"] if more > 0 else []
        text = "*Problems*\n" + "\n".join(lines)
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, SLACK_TEXT_MAX)}}
        )
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"Log: `{cli}` · Record: `{kubectl}`"}],
        }
    )
    return {"text": _slack_escape(title), "blocks": blocks}


def teams(s: RunSummary) -> dict[str, Any]:
    """A Teams message carrying one Adaptive Card (what Teams incoming webhooks and
    Workflows accept)."""
    cli, kubectl = s.log_commands
    facts = [
        {"title": "Project", "value": f"{s.namespace}/{s.project}"},
        {"title": "Run", "value": f"{s.run} ({s.trigger})"},
        {"title": "Result", "value": s.result},
        {"title": "Outcome", "value": _occasion(s)},
        {"title": "Started", "value": _time(s.start_time) or "-"},
        {"title": "Finished", "value": _time(s.completion_time) or "-"},
        {"title": "Counts", "value": _counts(s)},
    ]
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": s.headline,
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
            "color": _COLOURS.get(s.outcome, "Default"),
        },
        {"type": "FactSet", "facts": facts},
    ]
    if s.problems:
        body.append({"type": "TextBlock", "text": "Problems", "weight": "Bolder", "wrap": True})
        body += [{"type": "TextBlock", "text": f"- {p.line()}", "wrap": True} for p in s.problems]
    body.append(
        {"type": "TextBlock", "text": f"{cli}\n\n{kubectl}", "fontType": "Monospace", "wrap": True}
    )
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    attachment = {
        "contentType": "application/vnd.microsoft.card.adaptive",
        "contentUrl": None,
        "content": card,
    }
    return {"type": "message", "summary": s.headline, "attachments": [attachment]}


def _occasion(s: RunSummary) -> str:
    if s.occasion.value == "Reminder":
        return f"reminder: {s.consecutive_runs} runs in a row ended {s.result}"
    return f"{s.outcome} (the result changed)"


def _counts(s: RunSummary) -> str:
    return ", ".join(f"{name} {value}" for name, value in s.counts.items())


def _time(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _slack_escape(text: str) -> str:
    """Slack reads &, < and > as markup (links, mentions); these are plain text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
