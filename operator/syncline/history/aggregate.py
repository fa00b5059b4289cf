"""Fold finished runs into a project's status: lastRun and totals.

Runs of one project never overlap (the CronJob forbids it and run-now refuses), so
finished runs arrive in completion order. A run is counted only when it finished
after the run already recorded in ``lastRun``; replaying the same run after an
operator restart therefore changes nothing. A run request refused before it started is
never counted.
"""

from __future__ import annotations

from syncline.api.project import IntegrationProjectStatus, LastRun, Totals
from syncline.api.run import IntegrationRun, RunResult


def is_newer(run: IntegrationRun, status: IntegrationProjectStatus | None) -> bool:
    """Whether ``run`` finished after the run the project's status already reflects."""
    if run.status is None or not run.status.result.finished or never_ran(run):
        return False
    last = status.last_run if status else None
    if last is None:
        return True
    if last.name == run.metadata.name:
        return False
    if last.completion_time is None or run.status.completion_time is None:
        return True
    return run.status.completion_time > last.completion_time


def never_ran(run: IntegrationRun) -> bool:
    """A run request refused before it had a Job (1670 while another run is active, its
    project missing): nothing moved, so it says nothing about the project's data and is
    left out of lastRun, totals and metrics. Every run that had a Job names it."""
    if run.spec.job_ref is not None or run.status is None:
        return False
    return run.status.result is RunResult.ERROR and run.status.start_time is None


def last_run_of(run: IntegrationRun) -> LastRun:
    """The project's lastRun summary of a finished run."""
    assert run.status is not None
    s = run.status
    return LastRun(
        name=run.metadata.name or "",
        trigger=run.spec.trigger,
        result=s.result,
        error_code=s.error_code,
        start_time=s.start_time,
        completion_time=s.completion_time,
        read=s.read,
        inserted=s.inserted,
        updated=s.updated,
        unchanged=s.unchanged,
        filtered=s.filtered,
        failed=s.failed,
        upserts=s.upserts,
    )


def add_to_totals(totals: Totals | None, run: IntegrationRun) -> Totals:
    """Totals including one more finished run."""
    assert run.status is not None
    t = (totals or Totals()).model_copy()
    result = run.status.result
    t.runs += 1
    t.completed += result is RunResult.COMPLETED
    t.warnings += result is RunResult.WARNING
    t.errors += result is RunResult.ERROR
    t.upserts += run.status.upserts
    return t


def succeeded(result: RunResult) -> bool:
    """Completed and Warning runs finished; their data moved. Error runs did not."""
    return result in (RunResult.COMPLETED, RunResult.WARNING)
