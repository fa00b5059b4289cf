"""Schedule translation: what a user writes in spec.schedule and what the CronJob runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from syncline.api.project import RecurrenceUnit, Schedule
from syncline.errors import SynclineError
from syncline.scheduling.schedule import (
    longest_gap,
    next_run_time,
    recurrence_to_cron,
    resolve_schedule,
    validate_cron,
    validate_time_zone,
)

U = RecurrenceUnit


@pytest.mark.parametrize(
    ("every", "unit", "cron"),
    [
        (1, U.MINUTES, "* * * * *"),
        (2, U.MINUTES, "*/2 * * * *"),
        (15, U.MINUTES, "*/15 * * * *"),
        (30, U.MINUTES, "*/30 * * * *"),
        (60, U.MINUTES, "0 * * * *"),
        (120, U.MINUTES, "0 */2 * * *"),
        (1440, U.MINUTES, "0 0 * * *"),
        (1, U.HOURS, "0 * * * *"),
        (6, U.HOURS, "0 */6 * * *"),
        (12, U.HOURS, "0 */12 * * *"),
        (24, U.HOURS, "0 0 * * *"),
        (168, U.HOURS, "0 0 * * 1"),
        (1, U.DAYS, "0 0 * * *"),
        (7, U.DAYS, "0 0 * * 1"),
        (1, U.WEEKS, "0 0 * * 1"),
        (1, U.MONTHS, "0 0 1 * *"),
        (3, U.MONTHS, "0 0 1 */3 *"),
        (6, U.MONTHS, "0 0 1 */6 *"),
        (12, U.MONTHS, "0 0 1 1 *"),
    ],
)
def test_exact_recurrences_become_cron(every: int, unit: RecurrenceUnit, cron: str) -> None:
    assert recurrence_to_cron(every, unit) == cron


@pytest.mark.parametrize(
    ("every", "unit", "hint"),
    [
        (7, U.MINUTES, "7 does not divide 60"),
        (45, U.MINUTES, "choose one of 1, 2, 3"),
        (90, U.MINUTES, "90 does not divide 60"),  # nor a whole number of hours
        (5, U.HOURS, "5 does not divide 24"),
        (36, U.HOURS, "36 does not divide 24"),  # nor a whole number of days
        (2, U.DAYS, "months have 28-31 days"),
        (2, U.WEEKS, "no week counter"),
        (5, U.MONTHS, "5 does not divide 12"),
        (24, U.MONTHS, "cannot count years"),
    ],
)
def test_inexact_recurrences_are_rejected_never_approximated(
    every: int, unit: RecurrenceUnit, hint: str
) -> None:
    with pytest.raises(SynclineError) as caught:
        recurrence_to_cron(every, unit)
    assert caught.value.code == 1602
    assert hint in str(caught.value)


def test_ninety_minutes_is_rejected_as_not_expressible() -> None:
    """90 minutes does not divide an hour and is not whole hours: cron cannot do it."""
    with pytest.raises(SynclineError) as caught:
        recurrence_to_cron(90, U.MINUTES)
    assert str(caught.value).startswith("1602 ScheduleNotExpressible: Every 90 minutes")


@pytest.mark.parametrize(
    ("cron", "detail"),
    [
        ("* * * *", "expected 5 fields"),
        ("0 0 * * * *", "expected 5 fields"),
        ("60 * * * *", "out of range"),
        ("0 24 * * *", "out of range"),
        ("*/0 * * * *", "step"),
        ("0 0 L * *", "'L' is not valid"),
        ("0 0 * * 1#2", "bad day of week"),
        ("0 0 * * FOO", "'FOO' is not valid"),
        ("0 0 * MON *", "'MON' is not valid in the month"),
        ("TZ=UTC 0 0 * * *", "timeZone"),
        ("", "expected 5 fields"),
    ],
)
def test_invalid_cron_is_1600_with_the_reason(cron: str, detail: str) -> None:
    with pytest.raises(SynclineError) as caught:
        validate_cron(cron)
    assert caught.value.code == 1600
    assert detail in str(caught.value)


@pytest.mark.parametrize("cron", ["0 0 30 2 *", "0 0 31 4 *", "0 0 31 2,4,6,9,11 *"])
def test_never_firing_cron_is_1601(cron: str) -> None:
    with pytest.raises(SynclineError) as caught:
        validate_cron(cron)
    assert caught.value.code == 1601


@pytest.mark.parametrize(
    ("cron", "normalised"),
    [
        ("*/5 * * * *", "*/5 * * * *"),
        ("0  9 * *   MON-FRI", "0 9 * * MON-FRI"),
        ("0 0 1 JAN,JUL *", "0 0 1 JAN,JUL *"),
        ("0 0 ? * *", "0 0 ? * *"),
        ("0 0 29 2 *", "0 0 29 2 *"),  # leap day: fires every four years, so it is valid
        ("@daily", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
    ],
)
def test_valid_cron_is_normalised(cron: str, normalised: str) -> None:
    assert validate_cron(cron) == normalised


def test_unknown_time_zone_is_1603() -> None:
    with pytest.raises(SynclineError) as caught:
        validate_time_zone("Mars/Olympus_Mons")
    assert str(caught.value) == "1603 InvalidTimeZone: Unknown time zone 'Mars/Olympus_Mons'."


def test_resolve_schedule_keeps_the_time_zone_and_defaults_to_utc() -> None:
    kyiv = resolve_schedule(Schedule(cron="0 9 * * *", time_zone="Europe/Kyiv"))
    assert (kyiv.cron, kyiv.time_zone) == ("0 9 * * *", "Europe/Kyiv")
    every = resolve_schedule(Schedule(every=15, unit=U.MINUTES))
    assert (every.cron, every.time_zone) == ("*/15 * * * *", "UTC")


def test_resolve_schedule_rejects_a_bad_zone_before_looking_at_cron() -> None:
    with pytest.raises(SynclineError) as caught:
        resolve_schedule(Schedule(cron="0 0 30 2 *", time_zone="Nowhere/City"))
    assert caught.value.code == 1603


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_next_run_is_wall_clock_time_in_the_zone() -> None:
    # 09:00 in Kyiv is 07:00 UTC in winter (UTC+2) and 06:00 UTC in summer (UTC+3).
    assert next_run_time("0 9 * * *", "Europe/Kyiv", _utc(2026, 1, 10, 12)) == _utc(2026, 1, 11, 7)
    assert next_run_time("0 9 * * *", "Europe/Kyiv", _utc(2026, 7, 10, 12)) == _utc(2026, 7, 11, 6)


def test_next_run_follows_the_dst_change_in_europe() -> None:
    # Clocks go forward on 2026-03-29 in Europe/Kyiv: the UTC hour of 09:00 moves by one.
    assert next_run_time("0 9 * * *", "Europe/Kyiv", _utc(2026, 3, 28, 12)) == _utc(2026, 3, 29, 6)


def test_time_in_the_spring_forward_gap_is_skipped() -> None:
    # 2026-03-08 02:30 does not exist in New York; the next real 02:30 is on the 9th (EDT).
    assert next_run_time("30 2 * * *", "America/New_York", _utc(2026, 3, 7, 12)) == _utc(
        2026, 3, 9, 6, 30
    )


def test_repeated_fall_back_time_fires_once() -> None:
    # 2026-11-01 01:30 happens twice in New York (EDT, then EST): only the first counts.
    first = next_run_time("30 1 * * *", "America/New_York", _utc(2026, 11, 1, 5))
    assert first == _utc(2026, 11, 1, 5, 30)
    after_first = next_run_time("30 1 * * *", "America/New_York", _utc(2026, 11, 1, 5, 45))
    assert after_first == _utc(2026, 11, 2, 6, 30)


def test_next_run_is_strictly_after_the_given_time() -> None:
    assert next_run_time("*/15 * * * *", "UTC", _utc(2026, 5, 1, 10, 15)) == _utc(
        2026, 5, 1, 10, 30
    )


def test_leap_day_cron_finds_the_next_leap_year() -> None:
    assert next_run_time("0 0 29 2 *", "UTC", _utc(2026, 3, 1)) == _utc(2028, 2, 29)


def test_never_firing_cron_has_no_next_run() -> None:
    assert next_run_time("0 0 31 4 *", "UTC", _utc(2026, 1, 1)) is None


# The longest wait between runs: what "late" means for a project (SynclineProjectStale).


def test_a_regular_schedule_waits_its_interval() -> None:
    assert longest_gap("*/15 * * * *", _utc(2026, 5, 1, 10, 7)) == timedelta(minutes=15)
    assert longest_gap("0 */6 * * *", _utc(2026, 5, 1)) == timedelta(hours=6)
    assert longest_gap("* * * * *", _utc(2026, 5, 1)) == timedelta(minutes=1)


def test_a_weekday_schedule_waits_over_the_weekend_seen_from_any_day() -> None:
    for day in range(4, 11):  # 2026-05-04 is a Monday
        assert longest_gap("0 9 * * 1-5", _utc(2026, 5, day, 12)) == timedelta(days=3)
    # Every minute of office hours: from Friday 17:59 to Monday 09:00.
    office = longest_gap("* 9-17 * * 1-5", _utc(2026, 5, 4))
    assert office == timedelta(days=2, hours=15, minutes=1)


def test_a_year_of_days_is_looked_at_not_only_the_next_firings() -> None:
    # The 1st and 2nd of each month: a day, then a month (the longest: 2nd to 1st of a
    # month after a 31-day one).
    assert longest_gap("0 0 1,2 * *", _utc(2026, 1, 15)) == timedelta(days=30)
    assert longest_gap("0 0 1 * *", _utc(2026, 1, 15)) == timedelta(days=31)
    # Every day of January: from January 31st to the next January 1st.
    assert longest_gap("0 0 * 1 *", _utc(2026, 1, 15)) == timedelta(days=335)


def test_day_of_month_or_day_of_week_fires_on_either() -> None:
    assert longest_gap("0 0 13 * 5", _utc(2026, 1, 1)) == timedelta(weeks=1)


def test_a_cron_firing_on_fewer_than_two_days_in_the_horizon_has_no_wait() -> None:
    assert longest_gap("0 0 29 2 *", _utc(2026, 3, 1)) is None  # 2028, then 2032
