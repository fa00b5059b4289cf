"""The product's own periodic work and when it is due (pure: no I/O).

Seed 002's "built-in schedules": work Syncline itself does on a cron that users can list
and change. Each has a default; a changed cron is stored in the cluster
(:mod:`syncline.housekeeping.store`) and the operator's housekeeping loop reads it on every
tick, so a change takes effect at the next tick, without a restart. All crons are UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from croniter import croniter

from syncline.errors import SynclineError
from syncline.scheduling.schedule import validate_cron


@dataclass(frozen=True, slots=True)
class BuiltinWork:
    name: str
    default_cron: str
    description: str


BUILTIN_WORK = (
    BuiltinWork(
        "history-cleanup",
        "*/10 * * * *",
        "Delete finished IntegrationRuns older than their project's spec.history.retentionDays.",
    ),
    BuiltinWork(
        "connection-recheck",
        "*/10 * * * *",
        "Check every Connection again and refresh its entity catalog.",
    ),
    BuiltinWork(
        "audit-rotation",
        "0 0 * * *",
        "Seal the newest audit log file, start a new one, delete files past the retention.",
    ),
    BuiltinWork(
        "audit-verification",
        "15 * * * *",
        "Verify the whole audit chain; sign a checkpoint when intact, warn when not.",
    ),
)
BY_NAME = {w.name: w for w in BUILTIN_WORK}


@dataclass(frozen=True, slots=True)
class BuiltinSchedule:
    """One built-in schedule as listed: its cron (``UTC``), default and next run."""

    name: str
    cron: str
    default_cron: str
    description: str
    next_run_time: str | None
    last_run_time: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {
            "name": self.name,
            "cron": self.cron,
            "timeZone": "UTC",
            "defaultCron": self.default_cron,
            "description": self.description,
            "nextRunTime": self.next_run_time,
            "lastRunTime": self.last_run_time,
        }


def work(name: str) -> BuiltinWork:
    """The built-in work called ``name``; 2709 when there is none."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise SynclineError("BuiltinScheduleNotFound", name=name) from None


def check_cron(cron: str) -> str:
    """The normalised cron; 1600 when malformed, 1601 when it never fires (the same rules
    as projects' schedules)."""
    return validate_cron(cron, "UTC")


def effective_crons(stored: dict[str, str]) -> dict[str, str]:
    """Each work's cron: the stored one when valid, else its default (a hand-edited
    ConfigMap with a bad cron must not stop the work)."""
    crons = {}
    for item in BUILTIN_WORK:
        cron = stored.get(item.name, item.default_cron)
        try:
            crons[item.name] = check_cron(cron)
        except SynclineError:
            crons[item.name] = item.default_cron
    return crons


def next_fire(cron: str, after: datetime) -> datetime:
    """The first time ``cron`` (UTC) fires strictly after ``after``."""
    fire: datetime = croniter(cron, after.astimezone(UTC)).get_next(datetime)
    return fire.astimezone(UTC)


def due(cron: str, since: datetime, now: datetime) -> bool:
    """Whether ``cron`` fired in ``(since, now]``: missed firings run once, not many times."""
    return next_fire(cron, since) <= now


def listing(
    stored: dict[str, str], last_runs: dict[str, str], now: datetime
) -> list[BuiltinSchedule]:
    crons = effective_crons(stored)
    return [
        BuiltinSchedule(
            name=item.name,
            cron=crons[item.name],
            default_cron=item.default_cron,
            description=item.description,
            next_run_time=_rfc3339(next_fire(crons[item.name], now)),
            last_run_time=last_runs.get(item.name),
        )
        for item in BUILTIN_WORK
    ]


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
