"""Schedule translation: a project's ``spec.schedule`` to the cron line a CronJob runs.

Two forms reach us: a recurrence (``every`` N ``unit``) and a five-field ``cron`` in a
``timeZone``. Kubernetes' CronJob controller only understands cron, so a recurrence is
translated here, and only when cron expresses it *exactly*: "every 7 minutes" would
become ``*/7`` in cron, which fires at :56 and again at :00 (4 minutes apart). Such a
recurrence (and any with a startTime, blackouts or a missed-run policy) is instead
resolved to its exact fire times (``syncline.scheduling.recurrence``), which the operator
starts itself (``syncline.controllers.scheduler``), never a close-but-different cron.

Validation mirrors what the CronJob controller accepts (the standard five fields,
``?``, month and weekday names, ``@hourly``-style macros) and adds what it does not
check: a cron that can never fire (``0 0 30 2 *``) is 1601, not a CronJob that waits forever.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, CroniterError, croniter

from syncline.api.project import MissedRunPolicy, RecurrenceUnit, Schedule
from syncline.errors import SynclineError
from syncline.scheduling.recurrence import Recurrence, driven_recurrence

DEFAULT_TIME_ZONE = "UTC"
NEVER_FIRES_HORIZON_YEARS = 5
"""A cron with no match within this many years is treated as never firing (1601)."""

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_FIELD_NAMES = ("minute", "hour", "day of month", "month", "day of week")
_MONTHS = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
_WEEKDAYS = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}
_TOKEN = re.compile(r"^[0-9A-Za-z*/,?-]+$")


DRIVEN_CRON = "0 0 1 1 *"
"""The (suspended) CronJob of a schedule the operator drives keeps a valid, unused cron."""


@dataclass(frozen=True, slots=True)
class EffectiveSchedule:
    """The cron line and time zone the CronJob gets; ``describe`` is what status shows.

    With ``recurrence`` set, cron cannot express the schedule exactly: the CronJob stays
    suspended as the Jobs' template and the operator starts each Job at its fire time.
    """

    cron: str
    time_zone: str
    recurrence: Recurrence | None = None
    missed_run_policy: MissedRunPolicy = MissedRunPolicy.RUN_ONCE

    @property
    def driven(self) -> bool:
        return self.recurrence is not None

    def describe(self) -> str:
        if self.recurrence is None:
            return self.cron
        r = self.recurrence
        anchor = r.anchor.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"every {r.every} {r.unit.value} from {anchor}"


def resolve_schedule(schedule: Schedule) -> EffectiveSchedule:
    """Validate ``schedule`` and return its exact form, or raise a 16xx SynclineError.

    A recurrence becomes a cron line when cron expresses exactly what was asked (no
    startTime, blackouts or missed-run policy, an interval cron can count); otherwise
    the operator drives it from its exact fire times.
    """
    time_zone = validate_time_zone(schedule.time_zone or DEFAULT_TIME_ZONE)
    if schedule.cron is not None:
        return EffectiveSchedule(validate_cron(schedule.cron, time_zone), time_zone)
    if schedule.every is None or schedule.unit is None:  # the model and CEL forbid this
        raise SynclineError("ParameterMissing", field="spec.schedule.cron")
    plain = not (schedule.start_time or schedule.blackouts or schedule.missed_run_policy)
    if plain:
        try:
            return EffectiveSchedule(recurrence_to_cron(schedule.every, schedule.unit), time_zone)
        except SynclineError:
            pass  # not expressible in cron: the operator drives it
    return EffectiveSchedule(
        DRIVEN_CRON,
        time_zone,
        recurrence=driven_recurrence(schedule.every, schedule.unit, schedule, time_zone),
        missed_run_policy=schedule.missed_run_policy or MissedRunPolicy.RUN_ONCE,
    )


def validate_time_zone(name: str) -> str:
    """The IANA name, checked against the tz database (1603 when unknown)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise SynclineError("InvalidTimeZone", time_zone=name) from err
    return name


def recurrence_to_cron(every: int, unit: RecurrenceUnit) -> str:
    """The cron line for "every N unit", when cron can express it exactly; else 1602.

    Recurrences are anchored to the calendar: every 15 minutes runs at :00, :15, :30, :45;
    every 6 hours at 00:00, 06:00, ...; every 3 months on the 1st of Jan, Apr, Jul, Oct.
    A multiple of the next unit is carried up (every 120 minutes = every 2 hours).
    """
    if every < 1:
        raise _not_expressible(every, unit, "the interval must be at least 1")
    if unit is RecurrenceUnit.MINUTES:
        if every % 60 == 0:
            return recurrence_to_cron(every // 60, RecurrenceUnit.HOURS)
        return _stepped(every, 60, unit, "{step} * * * *")
    if unit is RecurrenceUnit.HOURS:
        if every % 24 == 0:
            return recurrence_to_cron(every // 24, RecurrenceUnit.DAYS)
        return _stepped(every, 24, unit, "0 {step} * * *")
    if unit is RecurrenceUnit.DAYS:
        if every == 1:
            return "0 0 * * *"
        if every % 7 == 0:
            return recurrence_to_cron(every // 7, RecurrenceUnit.WEEKS)
        raise _not_expressible(
            every,
            unit,
            "months have 28-31 days, so the gap at each month end would differ; "
            "use every 1 days, every 1 weeks, or a cron such as '0 0 1,15 * *'",
        )
    if unit is RecurrenceUnit.WEEKS:
        if every == 1:
            return "0 0 * * 1"
        raise _not_expressible(
            every, unit, "cron has no week counter; use every 1 weeks or a cron on chosen days"
        )
    if every % 12 == 0 and every > 12:
        raise _not_expressible(every, unit, "cron cannot count years; use every 12 months")
    return _stepped(every, 12, unit, "0 0 1 {step} *", first=1)


def _stepped(every: int, period: int, unit: RecurrenceUnit, shape: str, first: int = 0) -> str:
    """``*/N`` (or ``*`` / the first value) when N divides the period, else 1602."""
    if period % every != 0:
        divisors = ", ".join(str(d) for d in range(1, period + 1) if period % d == 0)
        raise _not_expressible(
            every,
            unit,
            f"{every} does not divide {period}, so the last gap of each cycle would be "
            f"shorter; choose one of {divisors}",
        )
    if every == 1:
        step = "*"
    elif every == period:
        step = str(first)
    else:
        step = f"*/{every}"
    return shape.format(step=step)


def _not_expressible(every: int, unit: RecurrenceUnit, detail: str) -> SynclineError:
    return SynclineError("ScheduleNotExpressible", every=every, unit=unit.value, detail=detail)


def validate_cron(expression: str, time_zone: str = DEFAULT_TIME_ZONE) -> str:
    """The normalised cron line; 1600 when malformed, 1601 when it can never fire."""
    cron = " ".join(expression.split())
    cron = MACROS.get(cron.lower(), cron)
    _check_syntax(expression, cron)
    try:
        croniter(cron)
    except CroniterError as err:
        raise SynclineError("InvalidCron", cron=expression, detail=_croniter_detail(err)) from err
    if next_run_time(cron, time_zone, datetime.now(UTC)) is None:
        raise SynclineError(
            "ScheduleWillNeverRun",
            cron=expression,
            detail=f"no matching date in the next {NEVER_FIRES_HORIZON_YEARS} years",
        )
    return cron


def _check_syntax(original: str, cron: str) -> None:
    """Reject what croniter tolerates but the Kubernetes CronJob controller does not."""
    if cron.upper().startswith(("TZ=", "CRON_TZ=")):
        raise SynclineError("InvalidCron", cron=original, detail="set schedule.timeZone instead")
    fields = cron.split(" ")
    if len(fields) != len(_FIELD_NAMES):
        raise SynclineError(
            "InvalidCron",
            cron=original,
            detail=f"expected 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(fields)}",
        )
    for index, (field, label) in enumerate(zip(fields, _FIELD_NAMES, strict=True)):
        if not _TOKEN.match(field):
            raise SynclineError("InvalidCron", cron=original, detail=f"bad {label} {field!r}")
        allowed = {3: _MONTHS, 4: _WEEKDAYS}.get(index, set())
        for word in re.findall(r"[A-Za-z]+", field):
            if word.upper() not in allowed:
                raise SynclineError(
                    "InvalidCron", cron=original, detail=f"{word!r} is not valid in the {label}"
                )


def _croniter_detail(err: CroniterError) -> str:
    """croniter's reason without its echo of the expression (already in our message)."""
    text = str(err)
    text = text.split("] ", 1)[1] if "] " in text else text
    return "a field value is out of range" if "out of range" in text else text


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
