"""When a finished run suspends its project: the guardrail decisions, as pure functions.

A project is suspended (its CronJob paused, Stalled) when its latest run

- was refused by the engine with a guardrail's code (2503 EmptySource, 2504
  ChangedShareExceeded): that run wrote nothing, and the next scheduled run would only
  find the same source and refuse again until someone looks; or
- ended in Error and puts more of the project's last K finished runs in Error than
  ``guardrails.maxRunErrorRate`` allows (more than share x K of them).

Runs that finished before the project's last resume count for nothing: a resume starts
the window afresh, and a run replayed after an operator restart cannot undo a resume.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime

from syncline.api.project import Guardrails, GuardrailTrip, RunErrorRate
from syncline.api.run import IntegrationRun, RunResult
from syncline.errors import SynclineError
from syncline.history.aggregate import never_ran

RESUME_ANNOTATION = "syncline.dev/resume"
"""On a project: each new value (a token) lifts a guardrail's suspension once."""
ENGINE_TRIPS = frozenset({2503, 2504})
"""The codes the engine ends a run with when a guardrail refused it before writing."""
_EARLIEST = datetime.min.replace(tzinfo=UTC)


def finished_after(run: IntegrationRun, resumed: datetime | None) -> bool:
    """Whether ``run`` finished after the project was last resumed (or it never was)."""
    status = run.status
    if status is None or not status.result.finished:
        return False
    return resumed is None or status.completion_time is None or status.completion_time > resumed


def trip_of(
    run: IntegrationRun,
    recent: Iterable[IntegrationRun],
    guardrails: Guardrails,
    resumed: datetime | None,
    now: datetime,
) -> GuardrailTrip | None:
    """The guardrail ``run`` trips (``recent``: the project's runs, for the error rate)."""
    status = run.status
    if status is None or status.result is not RunResult.ERROR:
        return None
    if not finished_after(run, resumed):
        return None
    name = run.metadata.name or ""
    if status.error_code in ENGINE_TRIPS:
        message = status.message or f"the run ended with {status.error_code}"
        return GuardrailTrip(code=status.error_code, message=message, run=name, tripped_time=now)
    if guardrails.max_run_error_rate is None:
        return None
    error = error_rate_exceeded(run, recent, guardrails.max_run_error_rate, resumed)
    if error is None:
        return None
    return GuardrailTrip(code=error.code, message=error.message, run=name, tripped_time=now)


def error_rate_exceeded(
    run: IntegrationRun,
    recent: Iterable[IntegrationRun],
    rate: RunErrorRate,
    resumed: datetime | None,
) -> SynclineError | None:
    """2505 when more of the last ``rate.runs`` finished runs (``run`` among them) ended
    in Error than ``rate.share`` x ``rate.runs``. Fewer runs than that since the last
    resume count as they are: the errors among them are held to the same number."""
    by_name = {r.metadata.name: r for r in recent if r.metadata.name != run.metadata.name}
    counted = [r for r in [run, *by_name.values()] if finished_after(r, resumed)]
    counted = [r for r in counted if not never_ran(r)]
    counted.sort(key=_completed, reverse=True)
    window = counted[: rate.runs]
    errors = sum(1 for r in window if r.status and r.status.result is RunResult.ERROR)
    allowed = math.floor(rate.share * rate.runs + 1e-9)
    if errors <= allowed:
        return None
    project = run.spec.project_ref.name
    return SynclineError(
        "RunErrorRateExceeded",
        errors=errors,
        runs=len(window),
        name=project,
        allowed=allowed,
        window=rate.runs,
    )


def _completed(run: IntegrationRun) -> datetime:
    status = run.status
    return (status.completion_time if status else None) or _EARLIEST


def suspension(project_name: str, trip: GuardrailTrip) -> SynclineError:
    """The 2506 a suspended project is Stalled with: why, and how to resume it."""
    return SynclineError(
        "SuspendedByGuardrail", name=project_name, run=trip.run, cause=trip.message
    )
