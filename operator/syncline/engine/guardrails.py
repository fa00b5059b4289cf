"""The checks a task passes before the run writes anything.

Every task of a run is prepared first (``plan_task``), then checked here, and only then
does the first task write: a run refused by a check has written nothing, in any task.

- ``limits.maxRowsPerRun``: the source counts the rows the task would read, with a
  bounded ``Source.count`` that stops at limit + 1. A source that cannot count is held
  to the limit as it is read (``runner._read``), after batches may have committed.
- ``guardrails.emptySourceProtection``: a full read (not incremental, a full refresh, or
  an incremental task without a watermark yet) finding no rows while the destination
  entity has rows. An empty export usually means a broken export, not a deleted table.
- ``guardrails.maxChangedShare``: the task is first rehearsed with a rollback-only sink
  (plan mode), and its inserts + updates compared with the rows the destination entity
  had. An empty destination (the initial load) is exempt. The task is read twice.

A share is measured per task against the destination as the run found it: a task that
writes what a later task reads is rehearsed without the earlier task's rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from syncline.engine.plan_task import TaskPlan
from syncline.engine.project import ResolvedProject
from syncline.engine.report import Counts
from syncline.errors import SynclineError

log = logging.getLogger("syncline.engine")

Rehearsal = Callable[[TaskPlan], Counts]
"""Runs a task without committing anything and returns its counts."""


def check_task(
    plan: TaskPlan, project: ResolvedProject, after: str | None, rehearse: Rehearsal
) -> None:
    """Raise the catalog error of the first check the task fails; ``after`` is the
    watermark its read starts from (None: a full read)."""
    _check_row_limit(plan, project.limits.max_rows_per_run, after)
    guard = project.guardrails
    if guard.empty_source_protection and after is None:
        _check_not_empty(plan)
    if guard.max_changed_share is not None:
        _check_changed_share(plan, guard.max_changed_share, rehearse)


def _cursor(plan: TaskPlan) -> str | None:
    incremental = plan.task.source.incremental if plan.task.source else None
    return incremental.cursor_field if incremental else None


def _check_row_limit(plan: TaskPlan, limit: int, after: str | None) -> None:
    if not limit:
        return
    found = plan.source.count(
        plan.source_entity, cursor_field=_cursor(plan), after=after, at_most=limit + 1
    )
    if found is not None and found > limit:
        raise SynclineError("MaxRowsPerRunExceeded", task=plan.task.name, limit=limit)


def _check_not_empty(plan: TaskPlan) -> None:
    found = plan.source.count(plan.source_entity, cursor_field=_cursor(plan), at_most=1)
    if found != 0:
        return  # rows to read, or a source that cannot tell (it then reads nothing)
    rows = plan.sink.row_count(plan.destination_entity)
    if rows:
        raise SynclineError(
            "EmptySource", task=plan.task.name, entity=plan.destination_entity, rows=rows
        )


def _check_changed_share(plan: TaskPlan, limit: float, rehearse: Rehearsal) -> None:
    rows = plan.sink.row_count(plan.destination_entity)
    if not rows:
        return  # an initial load, or a destination that cannot tell
    log.info("rehearsing the task to count its changes", extra={"task": plan.task.name})
    counts = rehearse(plan)
    changed = counts.inserted + counts.updated
    if changed > limit * rows:
        raise SynclineError(
            "ChangedShareExceeded",
            task=plan.task.name,
            changed=changed,
            rows=rows,
            entity=plan.destination_entity,
            share=f"{changed / rows:.1%}",
            limit=limit,
        )
