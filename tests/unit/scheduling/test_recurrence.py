"""Exact fire times for every recurrence, blackouts, several schedules, missed runs."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from syncline.api.project import MissedRunPolicy, RecurrenceUnit
from syncline.scheduling.recurrence import (
    Blackout,
    Fire,
    Recurrence,
    Skipped,
    decide,
    last_fire,
    next_fire,
)

U = RecurrenceUnit
KYIV = ZoneInfo("Europe/Kyiv")
NEW_YORK = ZoneInfo("America/New_York")


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def fires(recurrence: Recurrence, after: datetime, count: int) -> list[datetime]:
    out: list[datetime] = []
    for _ in range(count):
        found = recurrence.next_after(after)
        assert found is not None
        out.append(found)
        after = found
    return out


def test_every_7_minutes_is_exactly_7_minutes_apart_across_hours_and_days() -> None:
    every7 = Recurrence(7, U.MINUTES, utc(2026, 1, 1, 0, 0, 30))
    after = utc(2026, 3, 4, 23, 50)
    times = fires(every7, after, 6)
    assert all(b - a == timedelta(minutes=7) for a, b in itertools.pairwise(times))
    assert all((t - every7.anchor) % timedelta(minutes=7) == timedelta(0) for t in times)
    assert timedelta(0) < times[0] - after <= timedelta(minutes=7)
    assert {t.second for t in times} == {30}  # cron cannot even fire at second 30
    assert {t.minute for t in times} != set(range(0, 60, 7))  # not cron's */7


def test_next_is_strictly_after_and_last_is_at_or_before() -> None:
    every7 = Recurrence(7, U.MINUTES, utc(2026, 1, 1))
    on_time = utc(2026, 1, 1, 0, 14)
    assert every7.next_after(on_time) == utc(2026, 1, 1, 0, 21)
    assert every7.last_at_or_before(on_time) == on_time
    assert every7.last_at_or_before(on_time - timedelta(microseconds=1)) == utc(2026, 1, 1, 0, 7)


def test_before_the_anchor_the_first_fire_is_the_anchor() -> None:
    later = Recurrence(2, U.WEEKS, utc(2026, 6, 1, 9))
    assert later.next_after(utc(2020, 1, 1)) == utc(2026, 6, 1, 9)
    assert later.last_at_or_before(utc(2026, 5, 31)) is None


def test_every_2_weeks_keeps_weekday_and_wall_clock_across_dst() -> None:
    anchor = datetime(2026, 3, 16, 9, 0, tzinfo=KYIV)  # a Monday, winter time (UTC+2)
    fortnight = Recurrence(2, U.WEEKS, anchor, "Europe/Kyiv")
    times = [t.astimezone(KYIV) for t in fires(fortnight, anchor - timedelta(seconds=1), 4)]
    assert [t.date().isoformat() for t in times] == [
        "2026-03-16",
        "2026-03-30",
        "2026-04-13",
        "2026-04-27",
    ]
    assert {(t.weekday(), t.hour, t.minute) for t in times} == {(0, 9, 0)}
    gap = times[1].astimezone(UTC) - times[0].astimezone(UTC)
    assert gap == timedelta(days=14, hours=-1)  # summer time since Mar 29


def test_every_5_hours_stays_5_hours_apart_across_a_dst_change() -> None:
    anchor = datetime(2026, 3, 7, 22, 0, tzinfo=NEW_YORK)
    every5 = Recurrence(5, U.HOURS, anchor, "America/New_York")
    times = fires(every5, anchor, 6)  # spans 2026-03-08 02:00 spring-forward
    assert all(b - a == timedelta(hours=5) for a, b in itertools.pairwise(times))
    walls = [t.astimezone(NEW_YORK).strftime("%d %H:%M") for t in times]
    assert walls == ["08 04:00", "08 09:00", "08 14:00", "08 19:00", "09 00:00", "09 05:00"]


def test_daily_at_a_skipped_wall_time_runs_after_the_gap_and_a_repeated_one_once() -> None:
    spring = Recurrence(1, U.DAYS, datetime(2026, 3, 1, 2, 30, tzinfo=NEW_YORK), "America/New_York")
    walls = [t.astimezone(NEW_YORK) for t in fires(spring, utc(2026, 3, 7, 5), 3)]
    assert [w.strftime("%d %H:%M") for w in walls] == ["07 02:30", "08 03:30", "09 02:30"]
    fall = Recurrence(1, U.DAYS, datetime(2026, 10, 1, 1, 30, tzinfo=NEW_YORK), "America/New_York")
    times = fires(fall, utc(2026, 10, 31, 12), 3)
    assert [t - times[0] for t in times] == [
        timedelta(0),
        timedelta(hours=25),  # Nov 1 01:30 EDT (the first of two), Nov 2 01:30 EST
        timedelta(hours=49),
    ]


@pytest.mark.parametrize(
    ("anchor_day", "expected"),
    [
        (31, ["01-31", "02-28", "03-31", "04-30", "05-31"]),
        (30, ["01-30", "02-28", "03-30", "04-30", "05-30"]),
        (29, ["01-29", "02-28", "03-29", "04-29", "05-29"]),
    ],
)
def test_monthly_keeps_the_day_and_clamps_to_the_month_end(
    anchor_day: int, expected: list[str]
) -> None:
    monthly = Recurrence(1, U.MONTHS, utc(2026, 1, anchor_day, 6))
    times = fires(monthly, utc(2026, 1, 1), 5)
    assert [t.strftime("%m-%d") for t in times] == expected
    assert {t.hour for t in times} == {6}


def test_every_5_months_and_leap_years() -> None:
    five = Recurrence(5, U.MONTHS, datetime(2027, 10, 31, 0, 0, tzinfo=KYIV), "Europe/Kyiv")
    times = [t.astimezone(KYIV) for t in fires(five, utc(2027, 1, 1), 4)]
    assert [t.date().isoformat() for t in times] == [
        "2027-10-31",
        "2028-03-31",
        "2028-08-31",
        "2029-01-31",
    ]
    leap = Recurrence(12, U.MONTHS, utc(2028, 2, 29))
    assert [t.date().isoformat() for t in fires(leap, utc(2028, 1, 1), 3)] == [
        "2028-02-29",
        "2029-02-28",
        "2030-02-28",
    ]


def test_far_from_the_anchor_the_index_estimate_is_corrected() -> None:
    monthly = Recurrence(1, U.MONTHS, utc(2000, 1, 31))
    assert monthly.next_after(utc(2099, 2, 1)) == utc(2099, 2, 28)
    every7 = Recurrence(7, U.MINUTES, utc(2000, 1, 1))
    found = every7.next_after(utc(2090, 1, 1))
    assert found is not None
    assert (found - every7.anchor) % timedelta(minutes=7) == timedelta(0)
    assert timedelta(0) < found - utc(2090, 1, 1) <= timedelta(minutes=7)


def test_blackout_drops_fire_times_inside_it_end_excluded() -> None:
    quiet = Blackout.parse("09:00", "17:00", ["mon", "tue", "wed", "thu", "fri"])
    hourly = Recurrence(1, U.HOURS, utc(2026, 1, 1), blackouts=(quiet,))
    friday = utc(2026, 1, 9, 7, 30)
    walls = [t.strftime("%a %H:%M") for t in fires(hourly, friday, 3)]
    assert walls == ["Fri 08:00", "Fri 17:00", "Fri 18:00"]
    saturday = utc(2026, 1, 10, 8, 30)
    assert hourly.next_after(saturday) == utc(2026, 1, 10, 9)  # no window on weekends
    assert hourly.last_at_or_before(utc(2026, 1, 9, 16, 59)) == utc(2026, 1, 9, 8)


def test_blackout_across_midnight_in_the_schedule_zone() -> None:
    night = Blackout.parse("22:00", "06:00", ["sat"])
    every7 = Recurrence(7, U.MINUTES, utc(2026, 1, 1), "Europe/Kyiv", blackouts=(night,))
    saturday_night = datetime(2026, 1, 10, 21, 50, tzinfo=KYIV)
    times = [t.astimezone(KYIV) for t in fires(every7, saturday_night, 3)]
    assert [t.strftime("%a %H:%M") for t in times] == ["Sat 21:54", "Sun 06:04", "Sun 06:11"]
    sunday_5am = datetime(2026, 1, 11, 5, 0, tzinfo=KYIV)
    assert every7.last_at_or_before(sunday_5am) == times[0]
    assert every7.blacked_out(datetime(2026, 1, 11, 3, 0, tzinfo=KYIV))
    assert not every7.blacked_out(datetime(2026, 1, 12, 3, 0, tzinfo=KYIV))  # Sunday night


def test_blackouts_covering_everything_mean_never() -> None:
    always = (Blackout.parse("00:00", "12:00"), Blackout.parse("12:00", "00:00"))
    hourly = Recurrence(1, U.HOURS, utc(2026, 1, 1), blackouts=always)
    assert hourly.next_after(utc(2026, 1, 1)) is None
    assert hourly.last_at_or_before(utc(2026, 6, 1)) is None


@pytest.mark.parametrize(
    ("start", "end", "days", "problem"),
    [
        ("09:00", "09:00", [], "empty"),
        ("09:00", "10:00", ["monday"], "weekday"),
        ("25:00", "10:00", [], "hour"),
    ],
)
def test_bad_blackouts_are_refused(start: str, end: str, days: list[str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Blackout.parse(start, end, days)


def test_bad_recurrences_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Recurrence(0, U.MINUTES, utc(2026, 1, 1))
    with pytest.raises(ValueError, match="time zone"):
        Recurrence(1, U.MINUTES, datetime(2026, 1, 1))


def test_several_schedules_merge_earliest_first() -> None:
    every7 = Recurrence(7, U.MINUTES, utc(2026, 2, 1), name="often")
    daily = Recurrence(1, U.DAYS, utc(2026, 1, 1, 0, 10), name="daily")
    assert next_fire([every7, daily], utc(2026, 2, 1, 0, 6)) == Fire(utc(2026, 2, 1, 0, 7), "often")
    assert next_fire([every7, daily], utc(2026, 2, 1, 0, 7)) == Fire(
        utc(2026, 2, 1, 0, 10), "daily"
    )
    assert last_fire([every7, daily], utc(2026, 2, 1, 0, 12)) == Fire(
        utc(2026, 2, 1, 0, 10), "daily"
    )
    assert next_fire([], utc(2026, 1, 1)) is None


EVERY7 = [Recurrence(7, U.MINUTES, utc(2026, 1, 1), name="main")]


def test_a_due_fire_time_starts_once_and_is_recorded_first() -> None:
    now = utc(2026, 1, 1, 0, 7, 3)
    decision = decide(EVERY7, since=utc(2026, 1, 1), now=now, busy=False)
    assert decision.start == Fire(utc(2026, 1, 1, 0, 7), "main")
    assert decision.handled == utc(2026, 1, 1, 0, 7)
    assert decision.next_run == Fire(utc(2026, 1, 1, 0, 14), "main")
    again = decide(EVERY7, since=decision.handled, now=now + timedelta(seconds=5), busy=False)
    assert again.start is None
    assert again.handled is None
    assert again.skipped is None


def test_a_run_still_active_skips_the_fire_time_instead_of_overlapping() -> None:
    decision = decide(EVERY7, since=utc(2026, 1, 1), now=utc(2026, 1, 1, 0, 7, 1), busy=True)
    assert decision.start is None
    assert decision.skipped is Skipped.OVERLAP
    assert decision.handled == utc(2026, 1, 1, 0, 7)  # not retried when the run ends


def test_after_downtime_run_once_starts_one_catch_up_run_not_a_storm() -> None:
    since = utc(2026, 1, 1, 0, 7)
    now = utc(2026, 1, 1, 5, 0)  # 42 fire times passed while the operator was down
    decision = decide(EVERY7, since=since, now=now, busy=False, policy=MissedRunPolicy.RUN_ONCE)
    assert decision.start == Fire(utc(2026, 1, 1, 4, 54), "main")
    after = decide(EVERY7, since=decision.handled or since, now=now, busy=False)
    assert after.start is None


def test_after_downtime_skip_waits_for_the_next_fire_time() -> None:
    since = utc(2026, 1, 1, 0, 7)
    now = utc(2026, 1, 1, 5, 0)
    decision = decide(EVERY7, since=since, now=now, busy=False, policy=MissedRunPolicy.SKIP)
    assert decision.start is None
    assert decision.skipped is Skipped.MISSED
    assert decision.handled == utc(2026, 1, 1, 4, 54)
    assert decision.next_run == Fire(utc(2026, 1, 1, 5, 1), "main")


def test_skip_still_starts_a_fire_time_within_the_starting_deadline() -> None:
    now = utc(2026, 1, 1, 0, 7) + timedelta(seconds=299)
    decision = decide(
        EVERY7, since=utc(2026, 1, 1), now=now, busy=False, policy=MissedRunPolicy.SKIP
    )
    assert decision.start == Fire(utc(2026, 1, 1, 0, 7), "main")
    late = decide(
        EVERY7,
        since=utc(2026, 1, 1),
        now=now,
        busy=False,
        policy=MissedRunPolicy.SKIP,
        deadline=timedelta(seconds=60),
    )
    assert late.start is None
    assert late.skipped is Skipped.MISSED


def test_no_catch_up_run_starts_inside_a_blackout() -> None:
    quiet = Blackout.parse("01:00", "02:00")
    hourly = [Recurrence(3, U.HOURS, utc(2026, 1, 1), blackouts=(quiet,), name="main")]
    inside = decide(hourly, since=utc(2025, 12, 31, 21), now=utc(2026, 1, 1, 1, 30), busy=False)
    assert inside.start is None
    assert inside.handled is None
    after = decide(hourly, since=utc(2025, 12, 31, 21), now=utc(2026, 1, 1, 2, 0), busy=False)
    assert after.start == Fire(utc(2026, 1, 1), "main")


def test_a_controllable_clock_sees_every_fire_time_exactly_once() -> None:
    """A driver polling every 5 s for two weeks starts each fire time once, never late
    by more than a poll, and keeps its cadence across a 'restart' (state = since)."""
    fortnight = [Recurrence(2, U.WEEKS, utc(2026, 1, 5, 9), "Europe/Kyiv", name="f")]
    every7 = [Recurrence(7, U.MINUTES, utc(2026, 1, 5, 0, 0, 30), name="m")]
    for recurrences, span, expected in (
        (every7, timedelta(hours=3), 3 * 60 // 7 + 1),
        (fortnight, timedelta(days=29), 3),
    ):
        start = utc(2026, 1, 5)
        since, now, started = start, start, []
        while now < start + span:
            decision = decide(recurrences, since=since, now=now, busy=False)
            if decision.handled is not None:
                since = decision.handled  # written before the Job; a restart reads it back
            if decision.start is not None:
                assert now - decision.start.at < timedelta(seconds=5)
                started.append(decision.start.at)
            now += timedelta(seconds=5) if span < timedelta(days=1) else timedelta(minutes=1)
        assert len(started) == len(set(started)) == expected
        step = started[1] - started[0]
        assert all(b - a == step for a, b in itertools.pairwise(started))


def test_blackout_window_lookup() -> None:
    window = Blackout(time(22), time(6), frozenset({5})).window(datetime(2026, 1, 11, 5, 59))
    assert window == (datetime(2026, 1, 10, 22), datetime(2026, 1, 11, 6))
