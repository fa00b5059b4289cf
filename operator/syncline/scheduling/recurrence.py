"""Exact fire times of "every N units from a start time", and what is due now.

Cron cannot express every recurrence (every 7 minutes, every 2 weeks). This module is the
arithmetic for all of them, so a driver can start runs at the exact times itself:

- minutes and hours are absolute durations from the anchor (every 5 hours is always 5
  hours apart, also across a DST change);
- days and weeks keep the anchor's wall-clock time in the zone (every 2 weeks at 09:00
  stays at 09:00 after a DST change); a wall-clock time a spring-forward skips runs as
  late as the gap (02:30 becomes 03:30), and a repeated one runs at its first occurrence;
- months keep the anchor's day of month, clamped to the month's last day (the 31st runs
  on Feb 28/29, and again on the 31st in March).

Blackout windows (wall-clock times in the zone, optionally on chosen weekdays) drop every
fire time inside them. Several recurrences merge: the earliest wins. ``decide`` turns
"when did we last schedule, what time is it, is a run active" into one decision, with
the clock passed in, so every rule is testable without waiting.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from syncline.api.project import MissedRunPolicy, RecurrenceUnit, Schedule
from syncline.errors import SynclineError

HORIZON = timedelta(days=366 * 5)
"""Fire times beyond this (all in blackouts, say) count as never."""
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_STEP = {RecurrenceUnit.MINUTES: timedelta(minutes=1), RecurrenceUnit.HOURS: timedelta(hours=1)}
_DAYS = {RecurrenceUnit.DAYS: 1, RecurrenceUnit.WEEKS: 7}
_TINY = timedelta(microseconds=1)
DEFAULT_ANCHOR = datetime(2000, 1, 3)
"""Where every+unit counts from without startTime: a Monday midnight in the time zone
(months: the 1st, 2000-01-01), so cron-like recurrences keep cron's calendar phase."""


@dataclass(frozen=True, slots=True)
class Blackout:
    """No scheduled run starts from ``start`` to ``end`` (wall-clock, end excluded).

    An ``end`` at or before ``start`` crosses midnight (22:00-06:00). ``days`` are the
    weekdays (0 = Monday) a window starts on; empty means every day.
    """

    start: time
    end: time
    days: frozenset[int] = frozenset()

    @classmethod
    def parse(cls, start: str, end: str, days: Sequence[str] = ()) -> Blackout:
        """From ``"HH:MM"`` strings and weekday names (mon..sun); ValueError when bad."""
        unknown = [d for d in days if d.lower() not in WEEKDAYS]
        if unknown:
            raise ValueError(f"unknown weekday {unknown[0]!r}; use {', '.join(WEEKDAYS)}")
        if start == end:
            raise ValueError(f"blackout {start}-{end} is empty")
        indexes = frozenset(WEEKDAYS.index(d.lower()) for d in days)
        return cls(time.fromisoformat(start), time.fromisoformat(end), indexes)

    def length(self) -> timedelta:
        begin, finish = (datetime.combine(datetime.min, t) for t in (self.start, self.end))
        return finish - begin if finish > begin else finish + timedelta(days=1) - begin

    def window(self, local: datetime) -> tuple[datetime, datetime] | None:
        """The window (naive wall-clock start, end) that covers ``local``, if any."""
        for opened in (local.date(), local.date() - timedelta(days=1)):
            begin = datetime.combine(opened, self.start)
            finish = datetime.combine(opened, self.end)
            if finish <= begin:
                finish += timedelta(days=1)
            on_day = not self.days or begin.weekday() in self.days
            if on_day and begin <= local < finish:
                return begin, finish
        return None


@dataclass(frozen=True, slots=True)
class Fire:
    """One fire time (UTC) and the name of the recurrence it belongs to."""

    at: datetime
    schedule: str = ""


class FireTimes(Protocol):
    """What the driver needs of one schedule: a recurrence here, or a cron line
    (``syncline.scheduling.cron_fires.CronFires``) among a project's several schedules.

    ``missed_run_policy`` and ``deadline`` are the schedule's own; None defers to the
    project's (its single schedule's, or the operator's default deadline)."""

    @property
    def name(self) -> str: ...
    @property
    def missed_run_policy(self) -> MissedRunPolicy | None: ...
    @property
    def deadline(self) -> timedelta | None: ...
    def next_after(self, after: datetime) -> datetime | None: ...
    def last_at_or_before(self, moment: datetime) -> datetime | None: ...
    def blacked_out(self, moment: datetime) -> bool: ...
    def longest_wait(self) -> timedelta: ...
    def describe(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Recurrence:
    """Every ``every`` ``unit`` from ``anchor`` (aware) in ``time_zone``."""

    every: int
    unit: RecurrenceUnit
    anchor: datetime
    time_zone: str = "UTC"
    blackouts: tuple[Blackout, ...] = ()
    name: str = ""
    missed_run_policy: MissedRunPolicy | None = None
    deadline: timedelta | None = None

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError("every must be at least 1")
        if self.anchor.tzinfo is None:
            raise ValueError("the anchor needs a time zone")

    def next_after(self, after: datetime) -> datetime | None:
        """The first fire time strictly after ``after`` outside blackouts (UTC)."""
        limit = after + HORIZON
        while after < limit:
            candidate = self._occurrence(self._index_after(after))
            window = self._blackout(candidate)
            if window is None:
                return candidate
            after = max(self._utc(window[1]) - _TINY, candidate)  # forward, even in a fold
        return None

    def last_at_or_before(self, moment: datetime) -> datetime | None:
        """The latest fire time at or before ``moment`` outside blackouts (UTC)."""
        limit = moment - HORIZON
        while moment > limit:
            index = self._index_after(moment) - 1
            if index < 0:
                return None
            candidate = self._occurrence(index)
            window = self._blackout(candidate)
            if window is None:
                return candidate
            moment = min(self._utc(window[0]), candidate) - _TINY
        return None

    def longest_wait(self) -> timedelta:
        """The longest a healthy schedule waits between runs: the interval (the longest
        month, a day that gains an hour) plus the longest blackout window."""
        nominal = {
            RecurrenceUnit.MINUTES: timedelta(minutes=self.every),
            RecurrenceUnit.HOURS: timedelta(hours=self.every),
            RecurrenceUnit.DAYS: timedelta(days=self.every, hours=1),
            RecurrenceUnit.WEEKS: timedelta(weeks=self.every, hours=1),
            RecurrenceUnit.MONTHS: timedelta(days=31 * self.every, hours=1),
        }[self.unit]
        return nominal + max((b.length() for b in self.blackouts), default=timedelta(0))

    def blacked_out(self, moment: datetime) -> bool:
        """Whether ``moment`` falls in one of the blackout windows."""
        return self._blackout(moment) is not None

    def describe(self) -> str:
        anchor = self.anchor.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"every {self.every} {self.unit.value} from {anchor}"

    def _blackout(self, moment: datetime) -> tuple[datetime, datetime] | None:
        local = moment.astimezone(self._zone).replace(tzinfo=None)
        for blackout in self.blackouts:
            window = blackout.window(local)
            if window is not None:
                return window
        return None

    @property
    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def _utc(self, naive: datetime) -> datetime:
        """A wall-clock time in the zone as UTC; a skipped time is pushed past the gap."""
        return naive.replace(tzinfo=self._zone, fold=0).astimezone(UTC)

    def _occurrence(self, index: int) -> datetime:
        """The ``index``-th fire time (0 = the anchor) in UTC, blackouts ignored."""
        steps = index * self.every
        if self.unit in _STEP:
            return self.anchor.astimezone(UTC) + steps * _STEP[self.unit]
        local = self.anchor.astimezone(self._zone).replace(tzinfo=None)
        if self.unit in _DAYS:
            return self._utc(local + timedelta(days=steps * _DAYS[self.unit]))
        months = local.month - 1 + steps
        year, month = local.year + months // 12, months % 12 + 1
        day = min(local.day, calendar.monthrange(year, month)[1])
        return self._utc(local.replace(year=year, month=month, day=day))

    def _index_after(self, after: datetime) -> int:
        """The smallest index whose occurrence is strictly after ``after``.

        Occurrences grow with the index, so an estimate from the average step is
        corrected by a few single steps (DST and month lengths move it by at most one).
        """
        elapsed = after - self.anchor
        average = {
            RecurrenceUnit.MINUTES: timedelta(minutes=1),
            RecurrenceUnit.HOURS: timedelta(hours=1),
            RecurrenceUnit.DAYS: timedelta(days=1),
            RecurrenceUnit.WEEKS: timedelta(days=7),
            RecurrenceUnit.MONTHS: timedelta(days=30.436875),
        }[self.unit] * self.every
        index = max(int(elapsed / average), 0)
        while index > 0 and self._occurrence(index - 1) > after:
            index -= 1
        while self._occurrence(index) <= after:
            index += 1
        return index


def next_fire(recurrences: Sequence[FireTimes], after: datetime) -> Fire | None:
    """The earliest fire time of any recurrence strictly after ``after``."""
    fires = [Fire(at, r.name) for r in recurrences if (at := r.next_after(after)) is not None]
    return min(fires, key=lambda fire: fire.at, default=None)


def last_fire(recurrences: Sequence[FireTimes], moment: datetime) -> Fire | None:
    """The latest fire time of any recurrence at or before ``moment``."""
    fires = [
        Fire(at, r.name) for r in recurrences if (at := r.last_at_or_before(moment)) is not None
    ]
    return max(fires, key=lambda fire: fire.at, default=None)


class Skipped(StrEnum):
    """Why a due fire time started no run."""

    OVERLAP = "Overlap"
    """A run was still active (runs never overlap)."""
    MISSED = "Missed"
    """It passed more than the starting deadline ago and the policy is ``skip``."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do now: start a run for ``start``; record ``handled`` as the last scheduled
    time (before starting, so a restart never starts it twice); say why one was skipped."""

    start: Fire | None
    handled: datetime | None
    skipped: Skipped | None
    next_run: Fire | None


def decide(
    recurrences: Sequence[FireTimes],
    *,
    since: datetime,
    now: datetime,
    busy: bool,
    policy: MissedRunPolicy = MissedRunPolicy.RUN_ONCE,
    deadline: timedelta = timedelta(seconds=300),
) -> Decision:
    """Given that every fire time up to ``since`` is handled, what is due at ``now``.

    Only the latest due fire time matters: earlier ones are covered by it (``runOnce``)
    or were missed anyway (``skip``), so a long downtime never causes a storm of runs.
    A fire time up to ``deadline`` late starts under either policy. A run still active
    means this fire time is skipped (like ``concurrencyPolicy: Forbid``). With several
    schedules, the due fire time's own schedule says its policy and deadline.
    """
    due = last_fire(recurrences, now)
    upcoming = next_fire(recurrences, now)
    if due is None or due.at <= since:
        return Decision(None, None, None, upcoming)
    owner = next(r for r in recurrences if r.name == due.schedule)
    if owner.blacked_out(now):
        return Decision(None, None, None, upcoming)  # a late start waits for the window's end
    if busy:
        return Decision(None, due.at, Skipped.OVERLAP, upcoming)
    policy = owner.missed_run_policy or policy
    if now - due.at > (owner.deadline or deadline) and policy is MissedRunPolicy.SKIP:
        return Decision(None, due.at, Skipped.MISSED, upcoming)
    return Decision(due, due.at, None, upcoming)


def driven_recurrence(
    every: int, unit: RecurrenceUnit, schedule: Schedule, time_zone: str
) -> Recurrence:
    """The exact recurrence of an every+unit schedule (1601 when blackouts leave no time)."""
    origin = DEFAULT_ANCHOR.replace(day=1) if unit is RecurrenceUnit.MONTHS else DEFAULT_ANCHOR
    anchor = schedule.start_time or origin.replace(tzinfo=ZoneInfo(time_zone))
    if anchor.tzinfo is None:
        anchor = anchor.replace(tzinfo=UTC)
    anchor = anchor.replace(microsecond=0)  # status records fire times to the second
    blackouts = tuple(
        Blackout.parse(b.start, b.end, [d.value for d in b.days]) for b in schedule.blackouts
    )
    recurrence = Recurrence(every, unit, anchor, time_zone, blackouts)
    now = datetime.now(UTC)
    if recurrence.next_after(max(now, anchor)) is None:
        raise SynclineError(
            "ScheduleWillNeverRun",
            cron=f"every {every} {unit.value}",
            detail="its blackout windows cover every fire time",
        )
    return recurrence
