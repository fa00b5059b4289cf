"""RunReport: the typed result of a run, per task and in total.

It is what the engine hands back (to the CLI, or to the operator's run record);
``to_status`` turns it into the IntegrationRun status the API defines, so the two
never disagree about what a count means.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from syncline.api.run import (
    MAX_ROW_ERROR_SAMPLES,
    IntegrationRunStatus,
    RowError,
    RunCounts,
    RunResult,
    TaskResult,
)
from syncline.errors import SynclineError

COUNT_FIELDS = ("read", "inserted", "updated", "unchanged", "filtered", "failed")


@dataclass
class Counts:
    """Record counts; ``conservation_gap`` is 0 when every record read is accounted for."""

    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    filtered: int = 0
    failed: int = 0

    @property
    def accounted(self) -> int:
        return self.inserted + self.updated + self.unchanged + self.filtered + self.failed

    @property
    def conservation_gap(self) -> int:
        return self.read - self.accounted

    def add(self, other: Counts) -> None:
        for name in COUNT_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def to_api(self) -> dict[str, int]:
        values = {name: getattr(self, name) for name in COUNT_FIELDS}
        return {**values, "upserts": self.inserted + self.updated}


@dataclass
class TaskReport:
    """One task's outcome."""

    name: str
    counts: Counts = field(default_factory=Counts)
    result: RunResult = RunResult.RUNNING
    duration_seconds: float = 0.0
    watermark: str | None = None
    warnings: list[str] = field(default_factory=list)
    error: SynclineError | None = None
    row_errors: list[RowError] = field(default_factory=list)
    """A sample (at most 50); every row error is also in the destination's quarantine."""

    def record_row_errors(self, errors: list[RowError]) -> None:
        room = MAX_ROW_ERROR_SAMPLES - len(self.row_errors)
        self.row_errors.extend(errors[: max(room, 0)])

    def to_api(self) -> TaskResult:
        return TaskResult(
            name=self.name,
            result=self.result,
            duration_seconds=round(self.duration_seconds, 3),
            watermark=self.watermark,
            warnings=list(self.warnings),
            error=str(self.error) if self.error else None,
            **self.counts.to_api(),
        )


@dataclass
class RunReport:
    """A whole run: tasks in order, totals, result."""

    project: str
    namespace: str = "default"
    tasks: list[TaskReport] = field(default_factory=list)
    result: RunResult = RunResult.RUNNING
    start_time: datetime = field(default_factory=lambda: datetime.now(UTC))
    completion_time: datetime | None = None
    error: SynclineError | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def totals(self) -> Counts:
        total = Counts()
        for task in self.tasks:
            total.add(task.counts)
        return total

    @property
    def duration_seconds(self) -> float:
        end = self.completion_time or datetime.now(UTC)
        return (end - self.start_time).total_seconds()

    @property
    def row_errors(self) -> list[RowError]:
        sample = [e for t in self.tasks for e in t.row_errors]
        return sample[:MAX_ROW_ERROR_SAMPLES]

    def finish(self) -> None:
        """Derive the run's result from its tasks: Error > Warning > Completed."""
        self.completion_time = datetime.now(UTC)
        results = {t.result for t in self.tasks}
        if self.error is not None or RunResult.ERROR in results:
            self.result = RunResult.ERROR
            if self.error is None:
                self.error = next(t.error for t in self.tasks if t.error is not None)
        elif RunResult.WARNING in results or self.warnings:
            self.result = RunResult.WARNING
        else:
            self.result = RunResult.COMPLETED

    def message(self) -> str:
        if self.error is not None:
            return str(self.error)
        t = self.totals
        return (
            f"{t.read} read, {t.inserted} inserted, {t.updated} updated, {t.unchanged} "
            f"unchanged, {t.filtered} filtered, {t.failed} failed"
        )

    def to_status(self) -> IntegrationRunStatus:
        """The IntegrationRun status this report stands for."""
        return IntegrationRunStatus(
            result=self.result,
            start_time=self.start_time,
            completion_time=self.completion_time,
            duration_seconds=round(self.duration_seconds, 3),
            error_code=self.error.code if self.error else None,
            message=self.message(),
            tasks=[t.to_api() for t in self.tasks],
            row_errors=self.row_errors,
            warnings=list(self.warnings),
            **self.totals.to_api(),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form (camelCase, like the API)."""
        return {"project": self.project, "namespace": self.namespace, **self.to_status().to_wire()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


__all__ = ["Counts", "RowError", "RunCounts", "RunReport", "TaskReport"]
