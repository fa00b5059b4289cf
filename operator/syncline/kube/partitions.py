"""One pod of a task split over an Indexed Job, coordinated through its IntegrationRun.

The pods share nothing but the run object, and every decision two of them could race on
is a read-decide-write on its resourceVersion (``update_status``):

- the key ranges: the first pod to arrive computes the split points and writes them
  only if none are there; every pod (and every retry) then reads the ones written;
- a range is done once: a pod whose index already has an outcome (a retry after the
  first attempt recorded it) starts nothing and exits as that outcome says;
- the run ends once: the pod whose outcome completes the set writes the summed result
  in the same write, and only then moves the task's watermark (``engine.partitions``).

Rationale and the watermark rule are in ``syncline.engine.partitions``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial
from typing import Any

from syncline.api import GROUP, VERSION
from syncline.api.run import (
    IntegrationRunStatus,
    PartitionResult,
    Partitions,
    RunCounts,
    RunResult,
    TaskResult,
)
from syncline.api.task import Task
from syncline.engine.connectors import open_sink, open_source
from syncline.engine.partitions import (
    KeyRange,
    combined_watermark,
    sampled_row_errors,
    split_points,
    worst,
)
from syncline.engine.project import ResolvedProject
from syncline.engine.report import RunReport
from syncline.history.records import rfc3339, succeeded_condition
from syncline.kube.client import StatusAddress, through_outages, update_status
from syncline.kube.runrecord import PLURAL, RunRecord, now
from syncline.redaction import Redactor

log = logging.getLogger("syncline.engine.partitions")
COUNT_FIELDS = tuple(RunCounts.model_fields)
"""Every count a range reports and the run sums (RunCounts is their one definition)."""


class PartitionedRun:
    """Pod ``index`` of ``pods`` running the split task of ``project`` as ``record``."""

    def __init__(self, record: RunRecord, project: ResolvedProject, index: int, pods: int) -> None:
        self.record, self.project, self.index, self.pods = record, project, index, pods
        self.task = _split_task(project)
        self.where = StatusAddress(PLURAL, record.namespace, record.name)

    def recorded(self) -> PartitionResult | None:
        """This index's outcome, if an earlier attempt recorded it."""
        partitions = self._partitions(self._read())
        done = partitions.done if partitions else []
        return next((p for p in done if p.index == self.index), None)

    def key_range(self) -> KeyRange:
        """This pod's range of the run's split (computed here if no pod has yet)."""
        scale_out = self.task.scale_out
        assert scale_out is not None
        partitions = self._partitions(self._read())
        if partitions is None:
            low, high = self._bounds(scale_out.key)
            plan = Partitions(key=scale_out.key, bounds=split_points(low, high, self.pods))
            wire = plan.model_dump(mode="json", by_alias=True, exclude_none=True)

            def unless_planned(current: dict[str, Any]) -> dict[str, Any] | None:
                return None if self._partitions(current) else {"partitions": wire}

            update_status(self.record.custom, self.where, unless_planned)
            partitions = self._partitions(self._read())
            assert partitions is not None
            log.info("key ranges", extra={"key": partitions.key, "bounds": partitions.bounds})
        return KeyRange.of(partitions.key, partitions.bounds, self.index)

    def finish(self, report: RunReport, redactor: Redactor) -> RunResult:
        """Record this range's outcome; the pod completing the set ends the run and
        moves the watermark. Returns this range's result."""
        mine = _outcome(self.index, report, redactor)
        completed: list[PartitionResult] = []

        def add_mine(current: dict[str, Any]) -> dict[str, Any] | None:
            completed.clear()
            partitions = self._partitions(current)
            if partitions is None or (current.get("status") or {}).get("result") in _ENDED:
                return None  # ended meanwhile (marked failed, closed by the operator)
            done = [p for p in partitions.done if p.index != self.index] + [mine]
            done.sort(key=lambda p: p.index)
            plan = partitions.model_copy(update={"done": done})
            fields: dict[str, Any] = {
                "partitions": plan.model_dump(mode="json", by_alias=True, exclude_none=True)
            }
            if len(done) == self.pods:
                completed.extend(done)
                fields |= _final_status(self.task, done, current)
            return fields

        update_status(self.record.custom, self.where, add_mine)
        if completed:
            self._commit_watermark(combined_watermark(completed, self.pods))
        return mine.result

    def _commit_watermark(self, mark: str | None) -> None:
        if mark is None or self.task.source is None or self.task.source.incremental is None:
            return
        assert self.task.destination is not None
        member = self.project.connections[self.task.destination.connection]
        sink = open_sink(
            member.spec,
            member.credentials,
            timeout_seconds=member.spec.options.connect_timeout_seconds,
        )
        try:
            with sink.transaction():
                sink.save_watermark(self.project.watermark_scope(self.task), mark)
        finally:
            sink.close()
        log.info("watermark committed for every range", extra={"watermark": mark})

    def _bounds(self, key: str) -> tuple[int | None, int | None]:
        assert self.task.source is not None
        member = self.project.connections[self.task.source.connection]
        source = open_source(
            member.spec,
            member.credentials,
            timeout_seconds=member.spec.options.connect_timeout_seconds,
        )
        try:
            return source.key_bounds(self.task.source.entity, key)
        finally:
            source.close()

    def _read(self) -> dict[str, Any]:
        custom: Any = self.record.custom
        read = partial(
            custom.get_namespaced_custom_object,
            GROUP,
            VERSION,
            self.record.namespace,
            PLURAL,
            self.record.name,
        )
        run: dict[str, Any] = through_outages(read, "read run")
        return run

    @staticmethod
    def _partitions(run: dict[str, Any]) -> Partitions | None:
        wire = (run.get("status") or {}).get("partitions")
        return Partitions.model_validate(wire) if wire else None


_ENDED = {RunResult.COMPLETED.value, RunResult.WARNING.value, RunResult.ERROR.value}


def _split_task(project: ResolvedProject) -> Task:
    split = [t for t in project.tasks if t.scale_out is not None]
    if len(split) != 1:
        raise ValueError("a partitioned run needs exactly one task with scaleOut")
    return split[0]


def _outcome(index: int, report: RunReport, redactor: Redactor) -> PartitionResult:
    status = report.to_status(redactor)
    task = status.tasks[0] if status.tasks else None
    return PartitionResult(
        index=index,
        result=status.result,
        watermark=task.watermark if task else None,
        error_code=status.error_code,
        message=status.message,
        row_errors=status.row_errors[:10],
        duration_seconds=status.duration_seconds,
        **{f: getattr(status, f) for f in COUNT_FIELDS},
    )


def _final_status(
    task: Task, done: list[PartitionResult], current: dict[str, Any]
) -> dict[str, Any]:
    """The run's result from its ranges': sums, the worst result, the first failure."""
    totals = {f: sum(getattr(p, f) for p in done) for f in COUNT_FIELDS}
    result = worst([p.result for p in done])
    failure = next((p for p in done if p.result is RunResult.ERROR), None)
    ended = now()
    started = (current.get("status") or {}).get("startTime")
    message = (
        failure.message
        if failure is not None
        else f"{len(done)} pods moved {totals['read']} records of task {task.name}"
    )
    status = IntegrationRunStatus(
        result=result,
        completion_time=ended,
        error_code=failure.error_code if failure else None,
        message=f"{message} (pod {failure.index} of {len(done)})" if failure else message,
        tasks=[
            TaskResult(
                name=task.name,
                result=result,
                watermark=combined_watermark(done, len(done)),
                duration_seconds=max((p.duration_seconds or 0.0) for p in done),
                error=failure.message if failure else None,
                **totals,
            )
        ],
        row_errors=sampled_row_errors(done),
        **totals,
    )
    wire = status.model_dump(
        mode="json", by_alias=True, exclude_none=True, exclude={"partitions", "start_time"}
    )
    if started:
        begun = datetime.fromisoformat(str(started).replace("Z", "+00:00"))
        wire["durationSeconds"] = (ended - begun).total_seconds()
    wire["completionTime"] = rfc3339(ended)
    wire["conditions"] = [succeeded_condition(result, status.message or "", ended)]
    return wire
