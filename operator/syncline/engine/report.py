"""RunReport: the typed result of a run, per task and in total.

It is what the engine hands back (to the CLI, or to the operator's run record);
``to_status`` turns it into the IntegrationRun status the API defines, so the two
never disagree about what a count means.

A report holds errors as raised, driver text included. Whatever publishes it (status,
``--json``, the CLI's table) goes through ``to_status(redactor)`` with the run's
:class:`~syncline.redaction.Redactor`: messages, task errors, warnings and row errors
come out without credential values, and row errors never carry row values (those are
only in the rejects store, see ``syncline.engine.rejects``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
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
from syncline.engine.rejects import Reject
from syncline.errors import SynclineError
from syncline.redaction import NO_SECRETS, Redactor

COUNT_FIELDS = ("read", "inserted", "updated", "unchanged", "filtered", "failed")


@dataclass
class Counts:
    """Record counts; ``conservation_gap`` is 0 when every record read is accounted for:
    read + added = inserted + updated + unchanged + filtered + failed."""

    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    filtered: int = 0
    failed: int = 0
    added: int = 0
    """Rows a SQL step returned beyond the rows it read (UNNEST, a join with a series).
    Not an API count (the status has none for it): the run's message states it."""

    @property
    def accounted(self) -> int:
        return self.inserted + self.updated + self.unchanged + self.filtered + self.failed

    @property
    def conservation_gap(self) -> int:
        return self.read + self.added - self.accounted

    def add(self, other: Counts) -> None:
        for name in (*COUNT_FIELDS, "added"):
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
    """A sample (at most 50), without row values; every row error is also in the
    destination's quarantine, with them."""
    query_rows: int | None = None
    """Rows the SQL step returned (None without one, or before its result ended)."""

    def record_row_errors(self, rejects: Sequence[Reject]) -> None:
        """Keep the public form (no values) of the first rejects, up to the sample size."""
        room = MAX_ROW_ERROR_SAMPLES - len(self.row_errors)
        self.row_errors.extend(r.to_api() for r in rejects[: max(room, 0)])

    def to_api(self, redactor: Redactor = NO_SECRETS) -> TaskResult:
        return TaskResult(
            name=self.name,
            result=self.result,
            duration_seconds=round(self.duration_seconds, 3),
            watermark=self.watermark,
            warnings=[redactor(w) for w in self.warnings],
            error=str(redactor.error(self.error)) if self.error else None,
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

    def message(self, redactor: Redactor = NO_SECRETS) -> str:
        if self.error is not None:
            return str(redactor.error(self.error))
        t = self.totals
        added = f", {t.added} added by the SQL step" if t.added else ""
        return (
            f"{t.read} read, {t.inserted} inserted, {t.updated} updated, {t.unchanged} "
            f"unchanged, {t.filtered} filtered, {t.failed} failed{added}"
        )

    def to_status(self, redactor: Redactor = NO_SECRETS) -> IntegrationRunStatus:
        """The IntegrationRun status this report stands for, every text scrubbed of the
        secret values ``redactor`` knows (pass the run's; codes are kept)."""
        return IntegrationRunStatus(
            result=self.result,
            start_time=self.start_time,
            completion_time=self.completion_time,
            duration_seconds=round(self.duration_seconds, 3),
            error_code=self.error.code if self.error else None,
            message=self.message(redactor),
            tasks=[t.to_api(redactor) for t in self.tasks],
            row_errors=[
                e.model_copy(update={"key": redactor(e.key), "message": redactor(e.message)})
                for e in self.row_errors
            ],
            warnings=[redactor(w) for w in self.warnings],
            **self.totals.to_api(),
        )

    def to_dict(self, redactor: Redactor = NO_SECRETS) -> dict[str, Any]:
        """JSON-compatible form (camelCase, like the API), scrubbed like ``to_status``."""
        status = self.to_status(redactor).to_wire()
        return {"project": self.project, "namespace": self.namespace, **status}

    def to_json(self, redactor: Redactor = NO_SECRETS) -> str:
        return json.dumps(self.to_dict(redactor), indent=2)


__all__ = ["Counts", "RowError", "RunCounts", "RunReport", "TaskReport"]
