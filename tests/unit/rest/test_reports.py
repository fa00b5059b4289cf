"""Reports from projects and runs (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from syncline.rest import reports

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def project(name: str, last_success: datetime | None = None) -> dict[str, Any]:
    status = {"lastSuccessfulTime": last_success.isoformat()} if last_success else {}
    return {"metadata": {"namespace": "ns", "name": name}, "status": status}


def run(project: str, result: str, ended: datetime, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"namespace": "ns", "name": f"{project}-{ended:%H%M%S}-{result}"},
        "spec": {"projectRef": {"name": project}},
        "status": {"result": result, "completionTime": ended.isoformat(), **status},
    }


def test_protected_means_a_completed_or_warning_run_within_the_window() -> None:
    projects = [project(n) for n in ("ok", "warn", "failed", "never", "stale", "old-status")]
    projects[-1] = project("old-status", NOW - timedelta(days=30))
    runs = [
        run("ok", "Completed", NOW - timedelta(days=1)),
        run("warn", "Warning", NOW - timedelta(days=6)),
        run("failed", "Error", NOW - timedelta(hours=1), errorCode=2000),
        run("stale", "Completed", NOW - timedelta(days=8)),
    ]
    report = reports.protection(projects, runs, NOW, 7)
    assert [p.name for p in report.protected] == ["ok", "warn"]
    assert [p.name for p in report.unprotected] == ["failed", "never", "old-status", "stale"]
    wider = reports.protection(projects, runs, NOW, 9)
    assert [p.name for p in wider.protected] == ["ok", "stale", "warn"]


def test_error_codes_count_runs_once_per_code_most_first() -> None:
    row = {"task": "t", "key": "1", "code": 2302, "message": "null"}
    runs = [
        run("a", "Error", NOW - timedelta(hours=1), errorCode=2000),
        run("b", "Error", NOW - timedelta(hours=2), errorCode=2000, rowErrors=[row, row]),
        run("c", "Warning", NOW - timedelta(hours=3), rowErrors=[row]),
        run("d", "Error", NOW - timedelta(days=10), errorCode=2400),
    ]
    report = reports.error_codes(runs, NOW, 7, 10)
    assert [(c.code, c.name, c.runs) for c in report.codes] == [
        (2000, "ConnectionUnreachable", 2),
        (2302, "NullKey", 2),
    ]


def test_freshness_is_the_time_since_the_last_success() -> None:
    projects = [project("ok"), project("never")]
    runs = [run("ok", "Completed", NOW - timedelta(minutes=5)), run("ok", "Error", NOW)]
    items = {i.name: i for i in reports.freshness(projects, runs, NOW).items}
    assert items["ok"].seconds_since_success == 300
    assert items["never"].seconds_since_success is None
