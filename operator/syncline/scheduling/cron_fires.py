"""Fire times of a five-field cron in a time zone, the way the CronJob controller runs it.

The CronJob controller fires cron fields as wall-clock times in ``timeZone``; the
operator needs the same times for status (``nextRunTime``), for the staleness alert (the
longest healthy wait) and for projects with several schedules, whose cron schedules it
starts itself beside recurrences cron cannot express. ``CronFires`` offers what
``syncline.scheduling.recurrence.FireTimes`` asks of a schedule, so both kinds merge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from croniter import CroniterBadDateError, croniter

from syncline.api.project import MissedRunPolicy

NEVER_FIRES_HORIZON_YEARS = 5
"""A cron with no match within this many years is treated as never firing (1601)."""


@dataclass(frozen=True, slots=True)
class CronFires:
    """A validated ``cron`` in ``time_zone``, as one of a project's several schedules."""

    cron: str
    time_zone: str = "UTC"
    name: str = ""
    missed_run_policy: MissedRunPolicy | None = None
    deadline: timedelta | None = None

    def next_after(self, after: datetime) -> datetime | None:
        """The first firing strictly after ``after`` (UTC)."""
        return next_run_time(self.cron, self.time_zone, after)

    def last_at_or_before(self, moment: datetime) -> datetime | None:
        """The latest firing at or before ``moment`` (UTC), within the horizon."""
        return previous_run_time(self.cron, self.time_zone, moment)

    def blacked_out(self, moment: datetime) -> bool:
        """Cron schedules have no blackout windows (their fields already say when)."""
        return False

    def longest_wait(self) -> timedelta:
        """The longest healthy wait between firings over the coming year."""
        gap = longest_gap(self.cron, datetime.now(UTC))
        return gap if gap is not None else timedelta(days=366 * NEVER_FIRES_HORIZON_YEARS)

    def describe(self) -> str:
        return self.cron


def previous_run_time(cron: str, time_zone: str, moment: datetime) -> datetime | None:
    """The latest firing at or before ``moment``, in UTC; None if none within the horizon.

    The mirror of ``next_run_time``: a wall-clock time a spring-forward skips does not
    fire, a repeated one fires at its first occurrence.
    """
    zone = ZoneInfo(time_zone)
    local = moment.astimezone(zone).replace(tzinfo=None) + timedelta(minutes=1)
    horizon = local - timedelta(days=366 * NEVER_FIRES_HORIZON_YEARS)
    try:
        candidates = croniter(cron, local, max_years_between_matches=NEVER_FIRES_HORIZON_YEARS)
        while True:
            naive = candidates.get_prev(datetime)
            if naive < horizon:
                return None
            aware = naive.replace(tzinfo=zone, fold=0)
            if not _exists(aware) or aware > moment:
                continue
            return aware.astimezone(UTC)
    except CroniterBadDateError:
        return None


def next_run_time(cron: str, time_zone: str, after: datetime) -> datetime | None:
    """The first firing strictly after ``after``, in UTC; None if none within the horizon.

    Cron fields are wall-clock times in ``time_zone``. On a spring-forward day a time in
    the skipped hour does not exist and is skipped; on a fall-back day a repeated time
    fires once, at its first occurrence.
    """
    zone = ZoneInfo(time_zone)
    local = after.astimezone(zone).replace(tzinfo=None)
    horizon = local + timedelta(days=366 * NEVER_FIRES_HORIZON_YEARS)
    try:
        candidates = croniter(cron, local, max_years_between_matches=NEVER_FIRES_HORIZON_YEARS)
        while True:
            naive = candidates.get_next(datetime)
            if naive > horizon:
                return None
            aware = naive.replace(tzinfo=zone)
            if not _exists(aware) or aware <= after:
                continue
            return aware.astimezone(UTC)
    except CroniterBadDateError:
        return None


def longest_gap(cron: str, after: datetime) -> timedelta | None:
    """The longest wait between consecutive firings of ``cron`` in the year after
    ``after`` (wall-clock time: DST changes, which stretch or skip a run twice a year, are
    left out); None when it fires on fewer than two days within the never-fires horizon.

    This is how long a healthy project may go without a run: a weekday-only cron waits
    three days over each weekend, ``0 0 1,2 * *`` a month after every second day. Every
    firing day has the same times of day (cron's minute and hour fields do not depend on
    the day), so the waits are those within a day and those from one firing day's last
    time to the next one's first: a year of days is walked, never every firing (a
    minute-by-minute cron fires half a million times a year).
    """
    day_of_month, month, day_of_week = cron.split(" ")[2:]
    minutes, hours = croniter(cron).expanded[:2]
    times = sorted(h * 60 + m for h in _values(hours, 24) for m in _values(minutes, 60))
    days = _firing_days(f"0 0 {day_of_month} {month} {day_of_week}", after.replace(tzinfo=None))
    if len(days) < 2:
        return None
    waits = [
        (later - earlier).days * 1440 - times[-1] + times[0] for earlier, later in pairwise(days)
    ]
    waits += [later - earlier for earlier, later in pairwise(times)]
    return timedelta(minutes=max(waits))


def _values(expanded: Sequence[int | str], count: int) -> list[int]:
    """A field as croniter expands it (``["*"]`` for every value) as numbers."""
    return list(range(count)) if "*" in expanded else [int(v) for v in expanded]


def _firing_days(day_cron: str, after: datetime) -> list[datetime]:
    """Midnights of the days ``day_cron`` fires on, from ``after``'s day, for a year and at
    least two of them (within the never-fires horizon)."""
    start = after.replace(hour=0, minute=0, second=0, microsecond=0)
    year_later = start + timedelta(days=366)
    horizon = start + timedelta(days=366 * NEVER_FIRES_HORIZON_YEARS)
    days: list[datetime] = []
    try:
        candidates = croniter(
            day_cron,
            start - timedelta(minutes=1),
            max_years_between_matches=NEVER_FIRES_HORIZON_YEARS,
        )
        while len(days) < 2 or days[-1] <= year_later:
            day = candidates.get_next(datetime)
            if day > horizon:
                break
            days.append(day)
    except CroniterBadDateError:
        pass
    return days


def _exists(aware: datetime) -> bool:
    """False for wall-clock times inside a DST gap (they round-trip to another time)."""
    zone = aware.tzinfo
    assert zone is not None
    back = aware.astimezone(UTC).astimezone(zone)
    return back.replace(tzinfo=None) == aware.replace(tzinfo=None)
