"""Running a project: validate every task first, then read → transform → write per batch.

Nothing is written unless every task validates against the live schemas and passes its
checks (``engine.guardrails``: maxRowsPerRun counted up front, an empty source, the share
of the destination a task would change). Each batch is one destination transaction
(data, rejects, watermark). Tasks run in order; a task that fails ends the run (later
tasks may depend on it) and the report says which and why.

Without a SQL step a source batch is a destination batch, and it commits the watermark
it covers (``WatermarkTracker``), so a killed run resumes from the last committed batch.

With a SQL step the query runs once over the whole source (``transform.sql``) and its
result is written in batches of the task's batch size. Those batches no longer stand for
a stretch of the source, and the cursor field need not even be in the result, so:

- Watermark: the one the source rows the query read may commit (``WatermarkTracker``:
  below the largest cursor value among them; for an ordered source that stopped early,
  e.g. under a LIMIT, below the last one read, which may continue into unread rows),
  committed only with the *final* result batch, in its transaction. A run killed or
  failed before that leaves the old watermark: the next run re-reads from it,
  re-computes the whole result and upserts it again, which is idempotent. An empty
  result still writes one empty batch, to commit the watermark. With an incremental
  source the query sees only the rows past the watermark: an aggregate is over those
  rows, not over the whole entity.
- Counts: ``read`` counts source rows, as DuckDB pulls them. When the query returns
  fewer rows than it read (WHERE, GROUP BY, DISTINCT, LIMIT), the difference is
  ``filtered``. When it returns more (UNNEST, a join with a series), the surplus is
  ``added``, which is no API count: read + added = inserted + updated + unchanged +
  filtered + failed still holds exactly, and the run's message states the surplus.
- maxRowsPerRun counts source rows, before the run writes (and, for a source that cannot
  count, as they are read, so a GROUP BY over too many rows still fails before it
  writes). maxErrorRate is a share of the rows the mappings saw: the rows the query
  returned (one bad group of seven is 1/7, not 1/1000 of the rows read).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

import pyarrow as pa

from syncline.api.run import RunResult
from syncline.engine.connectors.base import MergeCounts
from syncline.engine.guardrails import check_task
from syncline.engine.partitions import KeyRange
from syncline.engine.plan_task import TaskInvalidError, TaskPlan, prepare_task
from syncline.engine.project import ResolvedProject
from syncline.engine.rejects import Reject
from syncline.engine.report import Counts, RunReport, TaskReport
from syncline.engine.transform.mapping import dedupe_last_wins, map_batch
from syncline.engine.transform.sql import SqlStep
from syncline.engine.validation import scale_out_errors
from syncline.engine.watermark import WatermarkTracker
from syncline.engine.write_behind import WriteBehind
from syncline.engine.writer import BatchWrite, write_batch
from syncline.errors import SynclineError

log = logging.getLogger("syncline.engine")

BatchObserver = Callable[[TaskPlan, TaskReport, pa.RecordBatch], None]


def run_project(
    project: ResolvedProject,
    *,
    full_refresh: bool = False,
    on_progress: Callable[[RunReport], None] | None = None,
    dry_run: bool = False,
    on_batch: BatchObserver | None = None,
    partition: KeyRange | None = None,
) -> RunReport:
    """Run every task of ``project``; the report says what happened (it never raises for
    data or validation problems: those end in Warning or Error).

    With ``partition`` this process is one pod of a task split over several
    (``engine.partitions``): it moves only the records in that key range and commits no
    watermark; the report's task watermark is the one its range may commit."""
    report = RunReport(project=project.name, namespace=project.namespace)
    report.tasks = [TaskReport(t.name, result=RunResult.PENDING) for t in project.tasks]
    if not project.tasks:
        report.error = SynclineError("NoTasks", name=project.name)
        report.finish()
        return report
    refused = scale_out_errors(project.tasks)
    if refused:
        report.error = refused[0]
        report.finish()
        return report
    plans = _prepare_all(project, report, dry_run=dry_run)
    try:
        if plans is not None and _preflight(plans, project, full_refresh, report):
            for plan, task_report in zip(plans, report.tasks, strict=True):
                moving = Moving(project, full_refresh, report, on_progress, on_batch, partition)
                _run_task(plan, task_report, moving)
                if task_report.result is RunResult.ERROR:
                    break
    finally:
        for plan in plans or []:
            plan.close()
    report.finish()
    log.info(
        "run finished",
        extra={"project": project.name, "result": report.result.value, **report.totals.to_api()},
    )
    if on_progress:
        on_progress(report)
    return report


def _prepare_all(
    project: ResolvedProject, report: RunReport, *, dry_run: bool
) -> list[TaskPlan] | None:
    """Plans for every task, or None after marking each invalid task (nothing written)."""
    plans: list[TaskPlan] = []
    failed = False
    for task, task_report in zip(project.tasks, report.tasks, strict=True):
        try:
            plans.append(prepare_task(project, task, dry_run=dry_run))
        except Exception as err:  # a task that cannot even be planned fails the run
            errors = _as_errors(err, project)
            task_report.result = RunResult.ERROR
            task_report.error = errors[0]
            task_report.warnings += [str(e) for e in errors[1:]]
            log.error(
                "task invalid",
                extra={"task": task.name, "code": errors[0].code, "error": str(errors[0])},
            )
            failed = True
    if failed:
        for plan in plans:
            plan.close()
        return None
    return plans


def _preflight(
    plans: list[TaskPlan], project: ResolvedProject, full_refresh: bool, report: RunReport
) -> bool:
    """Every task's checks (``engine.guardrails``) before the first task writes; False
    after marking the task that failed one (nothing written, in any task)."""
    rehearse = partial(_rehearse, project, full_refresh)
    for plan, task_report in zip(plans, report.tasks, strict=True):
        try:
            tracker = _tracker(plan, project, full_refresh)
            check_task(plan, project, tracker.committed if tracker else None, rehearse)
        except Exception as err:
            lost = plan.source.connection_lost(err) or plan.sink.connection_lost(err)
            error = _as_errors(lost or err, project)[0]
            task_report.result, task_report.error = RunResult.ERROR, error
            log.error(
                "task refused",
                extra={"task": task_report.name, "code": error.code, "error": str(error)},
            )
            return False
    return True


def _rehearse(project: ResolvedProject, full_refresh: bool, plan: TaskPlan) -> Counts:
    """The counts of ``plan``'s task run on connections of its own whose transactions all
    roll back (plan mode), so nothing is written."""
    trial = prepare_task(project, plan.task, dry_run=True)
    try:
        rehearsal = TaskReport(plan.task.name)
        _move_batches(trial, rehearsal, Moving(project, full_refresh, RunReport(project.name)))
        return rehearsal.counts
    finally:
        trial.close()


def _as_errors(err: Exception, project: ResolvedProject) -> list[SynclineError]:
    if isinstance(err, TaskInvalidError):
        return err.errors
    if isinstance(err, SynclineError):
        return [err]
    return [SynclineError("RunFailed", name=project.name, detail=_describe(err))]


def _describe(err: Exception) -> str:
    """Exception type and first line: enough to act on, never a multi-line dump."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {text}"[:300]


@dataclass(frozen=True, slots=True)
class Moving:
    """How this run moves each task's batches: what ``_move_batches`` needs besides them."""

    project: ResolvedProject
    full_refresh: bool
    report: RunReport
    on_progress: Callable[[RunReport], None] | None = None
    on_batch: BatchObserver | None = None
    partition: KeyRange | None = None


def _run_task(plan: TaskPlan, tr: TaskReport, moving: Moving) -> None:
    started = time.monotonic()
    tr.result = RunResult.RUNNING
    project = moving.project
    try:
        duplicates = _move_batches(plan, tr, moving)
        if duplicates:
            tr.warnings.append(str(SynclineError("DuplicateKeyInBatch", count=duplicates)))
        _check_totals(tr, project)
        tr.result = RunResult.WARNING if tr.counts.failed or tr.warnings else RunResult.COMPLETED
    except SynclineError as err:
        tr.error, tr.result = err, RunResult.ERROR
    except Exception as err:  # the destination or source failed mid-way
        tr.error = SynclineError("RunFailed", name=project.name, detail=_describe(err))
        tr.result = RunResult.ERROR
    tr.duration_seconds = time.monotonic() - started
    log.info(
        "task finished",
        extra={
            "task": tr.name,
            "result": tr.result.value,
            "error": str(tr.error) if tr.error else None,
            **tr.counts.to_api(),
        },
    )


def _move_batches(plan: TaskPlan, tr: TaskReport, moving: Moving) -> int:
    """Read, transform and write every batch; returns how many in-batch duplicates fell."""
    project, report, on_progress, on_batch = (
        moving.project,
        moving.report,
        moving.on_progress,
        moving.on_batch,
    )
    tracker = _tracker(plan, project, moving.full_refresh)
    source = _read(plan, tr, project, tracker, moving.partition)
    if plan.sql is None:
        shaped: Iterator[tuple[pa.RecordBatch, str | None]] = source
    else:
        progress = (lambda: on_progress(report)) if on_progress else None
        shaped = _query(plan, plan.sql, tr, source, progress)
    # One pod of a split task commits no watermark: its range is not all the rows past it.
    commits_watermark = moving.partition is None
    duplicates = 0
    scope = project.watermark_scope(plan.task)

    def committed(job: BatchWrite, done: tuple[MergeCounts, list[Reject]]) -> None:
        counts, all_rejects = done
        tr.counts.inserted += counts.inserted
        tr.counts.updated += counts.updated
        tr.counts.unchanged += counts.unchanged
        tr.counts.failed += len(all_rejects)
        tr.record_row_errors(all_rejects)
        tr.watermark = job.reached or tr.watermark
        if on_progress:
            on_progress(report)

    with WriteBehind(partial(write_batch, plan.sink)) as writer:
        try:
            for batch, mark in shaped:
                mapped, rejects = map_batch(batch, plan.mapping)
                mapped, dropped = dedupe_last_wins(mapped, plan.keys)
                tr.counts.filtered += dropped
                duplicates += dropped
                if on_batch:
                    on_batch(plan, tr, mapped)
                plan.sink.prepare(plan.destination_entity, mapped)
                job = BatchWrite(
                    tr.name,
                    plan.destination_entity,
                    plan.keys,
                    mapped,
                    rejects,
                    (scope, mark) if mark is not None and commits_watermark else None,
                    mark,
                )
                for done in writer.submit(job):
                    committed(*done)
            for done in writer.drain():
                committed(*done)
        except BaseException:
            for done in writer.settle():
                committed(*done)
            raise
    return duplicates


def _read(
    plan: TaskPlan,
    tr: TaskReport,
    project: ResolvedProject,
    tracker: WatermarkTracker | None,
    partition: KeyRange | None = None,
) -> Iterator[tuple[pa.RecordBatch, str | None]]:
    """Source batches, counted and held to maxRowsPerRun, each with the watermark it may
    commit (see ``WatermarkTracker``). A broken source connection is 2000: a read is one
    statement over one snapshot, which cannot go on over a new connection; the next run
    reads on from the committed watermark."""
    limit = project.limits.max_rows_per_run
    after = tracker.committed if tracker else None
    try:
        for batch, last in _with_last(plan.read(after, partition)):
            tr.counts.read += batch.num_rows
            if limit and tr.counts.read > limit:
                raise SynclineError("MaxRowsPerRunExceeded", task=tr.name, limit=limit)
            yield batch, tracker.observe(batch, last=last) if tracker else None
    except Exception as err:
        lost = plan.source.connection_lost(err)
        if lost is None:
            raise
        raise lost from None


def _query(
    plan: TaskPlan,
    sql: SqlStep,
    tr: TaskReport,
    source: Iterator[tuple[pa.RecordBatch, str | None]],
    progress: Callable[[], None] | None,
) -> Iterator[tuple[pa.RecordBatch, str | None]]:
    """The SQL step's result over the whole source, in batches; only the final batch
    carries a watermark: the one the source batches read so far may commit.

    The source is read as DuckDB asks for it, so the watermark is known once the result
    has ended. Rows the query removed are counted as filtered, rows it added beyond
    those it read as ``added`` (see ``Counts``), once the result has ended.
    """
    safe: str | None = None

    def feed() -> Iterator[pa.RecordBatch]:
        nonlocal safe
        for batch, mark in source:
            safe = mark or safe
            yield batch
            if progress:
                progress()

    assert plan.source_schema is not None
    returned = 0
    for batch, last in _with_last(sql.run(plan.source_schema, feed(), plan.batch_size)):
        returned += batch.num_rows
        yield batch, safe if last else None
    tr.query_rows = returned
    tr.counts.filtered += max(tr.counts.read - returned, 0)
    tr.counts.added += max(returned - tr.counts.read, 0)


def _tracker(
    plan: TaskPlan, project: ResolvedProject, full_refresh: bool
) -> WatermarkTracker | None:
    incremental = plan.task.source.incremental if plan.task.source else None
    if incremental is None:
        return None
    start = None if full_refresh else plan.sink.load_watermark(project.watermark_scope(plan.task))
    ordered = plan.source.capabilities.ordered_incremental
    return WatermarkTracker(incremental.cursor_field, ordered=ordered, start=start)


def _with_last(batches: Iterator[pa.RecordBatch]) -> Iterator[tuple[pa.RecordBatch, bool]]:
    """Each batch with a flag telling whether it is the final one (one batch of lookahead)."""
    previous = next(batches, None)
    while previous is not None:
        current = next(batches, None)
        yield previous, current is None
        previous = current


def _check_totals(tr: TaskReport, project: ResolvedProject) -> None:
    """Conservation first (a gap is a bug and must be loud), then the error-rate limit."""
    c = tr.counts
    if c.conservation_gap:
        raise SynclineError(
            "ConservationViolated", task=tr.name, read=c.read, accounted=c.accounted
        )
    rate = project.limits.max_error_rate
    # the share of the rows the mappings saw: with a SQL step, the rows the query returned
    seen = c.read if tr.query_rows is None else tr.query_rows
    if rate is not None and seen and c.failed / seen > rate:
        raise SynclineError(
            "MaxErrorRateExceeded", task=tr.name, failed=c.failed, read=seen, limit=rate
        )
