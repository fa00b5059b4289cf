"""IntegrationRun: one execution of a project; together they are the execution history."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import Field
from pydantic.config import JsonDict

from syncline.api.base import AGE_COLUMN, ApiModel, Condition, LocalObjectReference, Resource

MAX_ROW_ERROR_SAMPLES = 50
"""Row errors kept in a run's status; the full list is in the destination's quarantine."""


class Trigger(StrEnum):
    """What started a run."""

    SCHEDULE = "schedule"
    MANUAL = "manual"
    RETRY = "retry"


class RunResult(StrEnum):
    """How a run went. Running until it ends; then one of the three outcomes."""

    PENDING = "Pending"
    RUNNING = "Running"
    COMPLETED = "Completed"
    WARNING = "Warning"
    ERROR = "Error"

    @property
    def finished(self) -> bool:
        return self in (RunResult.COMPLETED, RunResult.WARNING, RunResult.ERROR)


class RunCounts(ApiModel):
    """Record counts. Conservation: read = inserted + updated + unchanged + filtered + failed."""

    read: int = 0
    """Records read from the source."""
    inserted: int = 0
    """Records newly created in the destination."""
    updated: int = 0
    """Existing destination records that changed."""
    unchanged: int = 0
    """Records already up to date (not rewritten)."""
    filtered: int = 0
    """Records dropped by the SQL step (or merged away as in-batch duplicates)."""
    failed: int = 0
    """Records that became row errors."""
    upserts: int = 0
    """inserted + updated, for kubectl get."""


class RowError(ApiModel):
    """One record that could not be written, with enough to find, fix and replay it."""

    task: str
    """Task the record belongs to."""
    key: str
    """The record's integration key values, as text."""
    field: str | None = None
    """The offending field, when one is to blame."""
    code: int
    """Catalog error code."""
    message: str
    """What went wrong."""


class TaskResult(RunCounts):
    """One task's part of a run."""

    name: str
    """The task's name."""
    result: RunResult
    """How the task went."""
    duration_seconds: float | None = None
    """How long the task took."""
    watermark: str | None = None
    """Incremental cursor value committed by this run."""
    warnings: list[str] = Field(default_factory=list)
    """Warnings, each starting with its catalog code."""
    error: str | None = None
    """Why the task ended in Error, starting with its catalog code."""


class NotificationChannel(StrEnum):
    """How a notification travels."""

    EMAIL = "email"
    WEBHOOK = "webhook"


class DeliveryResult(StrEnum):
    """What became of one notification of a run."""

    PENDING = "Pending"
    SENT = "Sent"
    FAILED = "Failed"
    SKIPPED = "Skipped"


class NotificationRecord(ApiModel):
    """One channel's notification about this run."""

    channel: NotificationChannel
    """email or webhook."""
    name: str
    """The webhook's name; "email" for email."""
    result: DeliveryResult
    """Pending while it is being sent; Sent, Failed (gave up) or Skipped (not due: the
    result did not change; or cannot be sent: the message says why)."""
    attempts: int = 0
    """Delivery attempts made."""
    code: int | None = None
    """Catalog code of a failure or a skip that needs attention."""
    message: str = ""
    """What happened (never a URL, address list or credential)."""
    time: datetime | None = None
    """When the outcome was recorded."""


NOTIFICATION_LIST: JsonDict = {
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["channel", "name"],
}


class IntegrationRunSpec(ApiModel):
    """What this run is for. Written by the operator when the run's Job appears; or by a
    user (kubectl, Argo CD, Flux) as a run request: projectRef, optionally fullRefresh,
    and no jobRef. The operator then starts the run's Job and sets jobRef."""

    project_ref: LocalObjectReference
    """The project this run executes."""
    trigger: Trigger = Trigger.MANUAL
    """What started the run (a run request is manual)."""
    job_ref: LocalObjectReference | None = None
    """The Job running it; absent on a run request until the operator starts it."""
    full_refresh: bool = False
    """Ignore incremental watermarks and read everything."""


MAX_PARTITIONS = 32


class PartitionResult(RunCounts):
    """What one pod of a split task committed (see ``Task.scaleOut``)."""

    index: int
    """The pod's completion index; it read the index-th key range."""
    result: RunResult
    """Completed, Warning or Error."""
    watermark: str | None = None
    """The cursor its range may commit; the task's watermark moves to the smallest of
    these once every range is committed."""
    error_code: int | None = None
    """Catalog code of its failure."""
    message: str | None = None
    """Its failure or warnings, in short."""
    row_errors: list[RowError] = Field(default_factory=list, max_length=10)
    """A sample of its row errors."""
    duration_seconds: float | None = None
    """How long it took."""


class Partitions(ApiModel):
    """How a split task's key is divided among the pods, decided once per run, and what
    each pod committed."""

    key: str
    """The integer source field split into ranges."""
    bounds: list[int] = Field(default_factory=list, max_length=MAX_PARTITIONS)
    """Split points: pod 0 reads keys below bounds[0], pod i from bounds[i-1] up to below
    bounds[i], the last pod from the last bound up (so every key is read exactly once,
    also keys beyond the smallest and largest seen when the plan was made)."""
    done: list[PartitionResult] = Field(
        default_factory=list,
        max_length=MAX_PARTITIONS,
        json_schema_extra={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["index"],
        },
    )
    """One entry per pod whose range is committed (or failed)."""


class IntegrationRunStatus(RunCounts):
    """The result of the run, written by the engine as it goes."""

    result: RunResult = RunResult.PENDING
    """Pending, Running, then Completed, Warning or Error."""
    conditions: list[Condition] = Field(default_factory=list)
    """Succeeded once the run ends Completed or Warning."""
    start_time: datetime | None = None
    """When the engine started."""
    completion_time: datetime | None = None
    """When the run ended."""
    duration_seconds: float | None = None
    """How long the run took."""
    error_code: int | None = None
    """Catalog code of the failure, when the run ended in Error."""
    message: str | None = None
    """Summary or failure message."""
    tasks: list[TaskResult] = Field(default_factory=list)
    """Per-task results."""
    row_errors: list[RowError] = Field(default_factory=list, max_length=MAX_ROW_ERROR_SAMPLES)
    """A sample of row errors (at most 50); the full list is in the quarantine."""
    warnings: list[str] = Field(default_factory=list)
    """Run-level warnings."""
    log_ref: str | None = None
    """Where the full run log is kept (ConfigMap name)."""
    partitions: Partitions | None = None
    """For a task split over pods: the key ranges and each pod's outcome."""
    notifications: list[NotificationRecord] = Field(
        default_factory=list, max_length=64, json_schema_extra=NOTIFICATION_LIST
    )
    """What the operator notified about this run, per channel (written once per run)."""


class IntegrationRun(Resource):
    """One execution of an IntegrationProject."""

    KIND: ClassVar[str] = "IntegrationRun"
    PLURAL: ClassVar[str] = "integrationruns"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("irun",)
    PRINTER_COLUMNS: ClassVar[tuple[dict[str, str], ...]] = (
        {"name": "Project", "type": "string", "jsonPath": ".spec.projectRef.name"},
        {"name": "Trigger", "type": "string", "jsonPath": ".spec.trigger"},
        {"name": "Result", "type": "string", "jsonPath": ".status.result"},
        {"name": "Read", "type": "integer", "jsonPath": ".status.read"},
        {"name": "Upserts", "type": "integer", "jsonPath": ".status.upserts"},
        {"name": "Errors", "type": "integer", "jsonPath": ".status.failed"},
        {"name": "Started", "type": "date", "jsonPath": ".status.startTime"},
        {"name": "Duration", "type": "number", "jsonPath": ".status.durationSeconds"},
        AGE_COLUMN,
    )

    kind: Literal["IntegrationRun"] = "IntegrationRun"
    spec: IntegrationRunSpec
    status: IntegrationRunStatus | None = None
