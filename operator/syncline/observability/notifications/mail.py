"""The notification email: a plain-text message any mail client shows the same way."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from syncline.observability.notifications.policy import Occasion
from syncline.observability.notifications.summary import RunSummary


def subject(summary: RunSummary) -> str:
    return f"[Syncline] {summary.headline}"


def body(summary: RunSummary, remind_every: int) -> str:
    """The text of the email: facts first, then problems, then where to look."""
    s = summary
    lines = [_opening(s), ""]
    lines += _facts(s)
    if s.problems:
        shown = (
            f"{len(s.problems)} of {s.problems_total}" if s.problems_total > len(s.problems) else ""
        )
        lines += ["", f"Problems{f' ({shown})' if shown else ''}:"]
        lines += [f"  - {p.line()}" for p in s.problems]
    elif s.message:
        lines += ["", f"Summary: {s.message}"]
    cli, kubectl = s.log_commands
    lines += ["", "See the whole run and its log:", f"  {cli}", f"  {kubectl}", ""]
    rule = "when the result changes"
    if remind_every:
        rule += f", and again after every {remind_every} runs while it stays the same"
    lines += [
        "-- ",
        f"Sent by Syncline for IntegrationProject {s.namespace}/{s.project}"
        " (spec.notifications.email).",
        f"Mail is sent {rule}.",
    ]
    return "\n".join(lines) + "\n"


def _opening(s: RunSummary) -> str:
    if s.occasion is Occasion.REMINDER:
        return (
            f"Reminder: {s.consecutive_runs} runs in a row of project {s.project} ended "
            f"{s.result}; the latest is {s.run}."
        )
    if s.outcome == "Recovered":
        return f"Project {s.project} recovered: run {s.run} ended {s.result} after failing."
    return f"Run {s.run} of project {s.project} ended {s.result}."


def _facts(s: RunSummary) -> list[str]:
    occasion = (
        f"{s.outcome} (the result changed)"
        if s.occasion is Occasion.CHANGED
        else f"reminder, {s.consecutive_runs} runs in a row ended {s.result}"
    )
    duration = f" ({s.duration_seconds:.1f} s)" if s.duration_seconds is not None else ""
    counts = ", ".join(f"{name} {value}" for name, value in s.counts.items())
    return [
        f"Project:    {s.project}",
        f"Namespace:  {s.namespace}",
        f"Run:        {s.run} (trigger: {s.trigger})",
        f"Result:     {s.result}",
        f"Outcome:    {occasion}",
        f"Started:    {_time(s.start_time)}",
        f"Finished:   {_time(s.completion_time)}{duration}",
        f"Counts:     {counts}",
    ]


def _time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "-"


def email_message(
    summary: RunSummary, sender: str, recipients: Sequence[str], remind_every: int
) -> EmailMessage:
    """The whole message; the envelope recipients are ``recipients`` too."""
    message = EmailMessage()
    message["Subject"] = subject(summary)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    message["X-Syncline-Project"] = f"{summary.namespace}/{summary.project}"
    message["X-Syncline-Run"] = summary.run
    message.set_content(body(summary, remind_every))
    return message
