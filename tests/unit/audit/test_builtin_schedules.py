"""Built-in schedules: which work is due, and what a stored cron may be (pure logic)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from syncline.errors import SynclineError
from syncline.housekeeping.schedules import (
    BUILTIN_WORK,
    check_cron,
    due,
    effective_crons,
    listing,
    work,
)

T0 = datetime(2026, 11, 22, 6, 0, 30, tzinfo=UTC)


def test_work_is_due_once_when_its_cron_fired_since_the_last_tick() -> None:
    assert due("* * * * *", T0, T0 + timedelta(seconds=30))  # 06:01:00 passed
    assert not due("* * * * *", T0, T0 + timedelta(seconds=29))
    assert not due("0 0 1 1 *", T0, T0 + timedelta(hours=1))
    # A long pause (operator down) runs a missed firing once, at the next tick.
    assert due("15 * * * *", T0, T0 + timedelta(hours=5))


def test_a_bad_stored_cron_falls_back_to_the_default() -> None:
    crons = effective_crons({"history-cleanup": "61 * * * *", "audit-rotation": "@hourly"})
    assert crons["history-cleanup"] == work("history-cleanup").default_cron
    assert crons["audit-rotation"] == "0 * * * *"
    assert set(crons) == {w.name for w in BUILTIN_WORK}


def test_validation_reuses_the_project_schedule_rules() -> None:
    with pytest.raises(SynclineError) as err:
        check_cron("*/5 * * *")
    assert err.value.code == 1600
    with pytest.raises(SynclineError) as err:
        check_cron("0 0 31 2 *")
    assert err.value.code == 1601
    with pytest.raises(SynclineError) as err:
        work("defrag")
    assert err.value.code == 2709


def test_listing_shows_cron_default_and_next_run() -> None:
    listed = {s.name: s for s in listing({"audit-verification": "*/5 * * * *"}, {}, T0)}
    verification = listed["audit-verification"].to_json()
    assert verification["cron"] == "*/5 * * * *"
    assert verification["defaultCron"] == "15 * * * *"
    assert verification["nextRunTime"] == "2026-11-22T06:05:00Z"
    assert verification["timeZone"] == "UTC"
