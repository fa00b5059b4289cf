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
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter

from syncline.api.project import MissedRunPolicy, RecurrenceUnit, Schedule
from syncline.errors import SynclineError
from syncline.scheduling.cron_fires import (
    NEVER_FIRES_HORIZON_YEARS,
    CronFires,
    longest_gap,
    next_run_time,
)
from syncline.scheduling.recurrence import FireTimes, Recurrence, driven_recurrence

DEFAULT_TIME_ZONE = "UTC"

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

    With ``fires`` set, cron cannot express the schedule exactly (or there are several):
    the CronJob stays suspended as the Jobs' template and the operator starts each Job at
    its fire time.
    """

    cron: str
    time_zone: str
    fires: tuple[FireTimes, ...] = ()
    missed_run_policy: MissedRunPolicy = MissedRunPolicy.RUN_ONCE

    @property
    def driven(self) -> bool:
        return bool(self.fires)

    def describe(self) -> str:
        if not self.fires:
            return self.cron
        if len(self.fires) == 1 and not self.fires[0].name:
            return self.fires[0].describe()
        return "; ".join(f"{f.name}: {f.describe()}" for f in self.fires)

    def next_run(self, after: datetime) -> datetime | None:
        """The first fire time strictly after ``after`` (UTC), whoever starts it."""
        if not self.fires:
            return next_run_time(self.cron, self.time_zone, after)
        times = [t for f in self.fires if (t := f.next_after(after)) is not None]
        return min(times, default=None)

    def longest_wait(self) -> timedelta | None:
        """How long a healthy project waits at most between runs (None: unknown).

        With several schedules the merged wait is at most the shortest of theirs."""
        if not self.fires:
            return longest_gap(self.cron, datetime.now(UTC))
        return min(f.longest_wait() for f in self.fires)


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
        fires=(driven_recurrence(schedule.every, schedule.unit, schedule, time_zone),),
        missed_run_policy=schedule.missed_run_policy or MissedRunPolicy.RUN_ONCE,
    )


def resolve_schedules(named: Sequence[tuple[str, Schedule]]) -> EffectiveSchedule | None:
    """A project's schedules (``IntegrationProjectSpec.named_schedules``) as one; None for
    manual runs only.

    One schedule resolves as above. Several are driven by the operator together, each
    with its own time zone, blackouts, missed-run policy and starting deadline: one
    CronJob cannot hold two cron lines, and two CronJobs could start overlapping runs.
    """
    if not named:
        return None
    if len(named) == 1:
        return resolve_schedule(named[0][1])
    return EffectiveSchedule(
        DRIVEN_CRON, DEFAULT_TIME_ZONE, fires=tuple(_fire_times(n, s) for n, s in named)
    )


def _fire_times(name: str, schedule: Schedule) -> FireTimes:
    time_zone = validate_time_zone(schedule.time_zone or DEFAULT_TIME_ZONE)
    policy = schedule.missed_run_policy
    deadline = schedule.starting_deadline_seconds
    late = timedelta(seconds=deadline) if deadline else None
    if schedule.cron is not None:
        return CronFires(validate_cron(schedule.cron, time_zone), time_zone, name, policy, late)
    if schedule.every is None or schedule.unit is None:  # the model and CEL forbid this
        raise SynclineError("ParameterMissing", field=f"spec.schedules[{name}].cron")
    recurrence = driven_recurrence(schedule.every, schedule.unit, schedule, time_zone)
    return Recurrence(
        recurrence.every,
        recurrence.unit,
        recurrence.anchor,
        time_zone,
        recurrence.blackouts,
        name,
        policy,
        late,
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
