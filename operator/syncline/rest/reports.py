"""Reports computed from projects and their runs (pure: objects in, report out).

"Protected" follows the seed's report of what was and was not protected in the last
seven days: a project is protected when a run of it ended Completed or Warning (its
data moved) within the window. Runs are the evidence, not the project's summary, so a
report is right even for runs the operator has not folded into a project's status yet.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from syncline.errors import BY_CODE
from syncline.rest.models import (
    ErrorCodeCount,
    ErrorCodesReport,
    Freshness,
    FreshnessReport,
    ProjectRef,
    ProtectionReport,
)
from syncline.rest.runs_view import parse_time, result_of

SUCCESS = ("Completed", "Warning")
Key = tuple[str, str]


def _key(obj: dict[str, Any], name: str | None = None) -> Key:
    meta = obj.get("metadata") or {}
    return (meta.get("namespace", ""), name or meta.get("name", ""))


def _project_of(run: dict[str, Any]) -> str:
    return str(((run.get("spec") or {}).get("projectRef") or {}).get("name", ""))


def _ended(run: dict[str, Any]) -> datetime | None:
    status = run.get("status") or {}
    return parse_time(status.get("completionTime")) or parse_time(status.get("startTime"))


def last_successes(
    projects: Iterable[dict[str, Any]], runs: Iterable[dict[str, Any]]
) -> dict[Key, datetime]:
    """When each project last had a successful run: its runs, else its status."""
    last: dict[Key, datetime] = {}
    for project in projects:
        when = parse_time((project.get("status") or {}).get("lastSuccessfulTime"))
        if when is not None:
            last[_key(project)] = when
    for run in runs:
        ended = _ended(run)
        if result_of(run) in SUCCESS and ended is not None:
            key = _key(run, _project_of(run))
            if key not in last or ended > last[key]:
                last[key] = ended
    return last


def protection(
    projects: list[dict[str, Any]], runs: list[dict[str, Any]], now: datetime, days: int
) -> ProtectionReport:
    since = now - timedelta(days=days)
    last = last_successes(projects, runs)
    protected: list[ProjectRef] = []
    unprotected: list[ProjectRef] = []
    for project in sorted(projects, key=_key):
        key = _key(project)
        ref = ProjectRef(namespace=key[0], name=key[1], last_successful_time=last.get(key))
        (protected if key in last and last[key] >= since else unprotected).append(ref)
    return ProtectionReport(days=days, since=since, protected=protected, unprotected=unprotected)


def error_codes(runs: list[dict[str, Any]], now: datetime, days: int, top: int) -> ErrorCodesReport:
    """The codes most runs met in the window: a run's own code and its row errors' codes,
    each counted once per run."""
    since = now - timedelta(days=days)
    counts: Counter[int] = Counter()
    for run in runs:
        ended = _ended(run)
        if ended is None or ended < since:
            continue
        status = run.get("status") or {}
        codes = {e.get("code") for e in status.get("rowErrors") or []}
        codes.add(status.get("errorCode"))
        counts.update(c for c in codes if isinstance(c, int))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
    entries = [
        ErrorCodeCount(code=c, name=BY_CODE[c].name if c in BY_CODE else "Unknown", runs=n)
        for c, n in ranked
    ]
    return ErrorCodesReport(days=days, since=since, codes=entries)


def freshness(
    projects: list[dict[str, Any]], runs: list[dict[str, Any]], now: datetime
) -> FreshnessReport:
    last = last_successes(projects, runs)
    items = []
    for project in sorted(projects, key=_key):
        key = _key(project)
        when = last.get(key)
        age = (now - when).total_seconds() if when else None
        items.append(
            Freshness(
                namespace=key[0], name=key[1], last_successful_time=when, seconds_since_success=age
            )
        )
    return FreshnessReport(now=now, items=items)
