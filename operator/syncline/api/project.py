"""IntegrationProject: what moves, when, with which limits, and how it went."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field, model_validator

from syncline.api.base import (
    AGE_COLUMN,
    NAME_PATTERN,
    ApiModel,
    Condition,
    LocalObjectReference,
    Resource,
    ready_column,
)
from syncline.api.run import RunCounts, RunResult, Trigger
from syncline.api.task import LIST_MAP_BY_NAME, MAX_TASKS, Task

DEFAULT_MAX_ROWS_PER_RUN = 500_000
DEFAULT_RETENTION_DAYS = 45


class RecurrenceUnit(StrEnum):
    """Units of a simple recurrence."""

    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"


class MissedRunPolicy(StrEnum):
    """What a schedule the operator drives does with fire times that passed unstarted."""

    SKIP = "skip"
    RUN_ONCE = "runOnce"


class Weekday(StrEnum):
    """A day of the week, as blackout windows name them."""

    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


HH_MM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


class Blackout(ApiModel):
    """A daily window, in the schedule's time zone, in which no scheduled run starts."""

    start: Annotated[str, Field(pattern=HH_MM)]
    """Wall-clock start, HH:MM (included)."""
    end: Annotated[str, Field(pattern=HH_MM)]
    """Wall-clock end, HH:MM (excluded); at or before start, the window ends the next day."""
    days: Annotated[list[Weekday], Field(max_length=7)] = Field(default_factory=list)
    """Weekdays the window starts on; every day when empty."""

    @model_validator(mode="after")
    def _not_empty(self) -> Blackout:
        if self.start == self.end:
            raise ValueError("a blackout's start and end must differ")
        return self


class Schedule(ApiModel):
    """When the project runs: every N units, or a cron expression in a time zone.

    Absent schedule means manual runs only.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.every) == has(self.unit)",
                    "message": "every and unit go together",
                    "fieldPath": ".every",
                },
                {
                    "rule": "has(self.every) != has(self.cron)",
                    "message": "set either every+unit or cron, exactly one of them",
                    "fieldPath": ".cron",
                },
                {
                    "rule": "has(self.every) || (!has(self.startTime) && !has(self.blackouts))",
                    "message": "startTime and blackouts go with every+unit",
                    "fieldPath": ".cron",
                },
            ]
        }
    )

    every: Annotated[int, Field(ge=1)] | None = None
    """Run every N units (N >= 1)."""
    unit: RecurrenceUnit | None = None
    """The unit of every: minutes, hours, days, weeks or months."""
    cron: str | None = None
    """A five-field cron expression, evaluated in timeZone."""
    time_zone: str | None = None
    """IANA time zone (e.g. Europe/Kyiv) for cron and for day-based recurrences; UTC when
    absent."""
    starting_deadline_seconds: Annotated[int, Field(ge=10)] | None = None
    """How late a missed run may still start; later ones are skipped until the next slot."""
    start_time: datetime | None = None
    """The anchor of every+unit: fire times are this time plus multiples of the interval
    (RFC 3339). When absent, 2000-01-03 00:00 (a Monday) in timeZone."""
    missed_run_policy: MissedRunPolicy | None = None
    """For schedules the operator drives: after it was down, skip the missed fire times, or
    start one catch-up run for them all (runOnce, the default)."""
    blackouts: Annotated[list[Blackout], Field(max_length=20)] = Field(default_factory=list)
    """Windows in which no scheduled run starts (manual runs still do)."""

    @model_validator(mode="after")
    def _one_form(self) -> Schedule:
        if (self.every is None) != (self.unit is None):
            raise ValueError("every and unit go together")
        if (self.every is None) == (self.cron is None):
            raise ValueError("set either every+unit or cron, exactly one of them")
        if self.cron is not None and (self.start_time is not None or self.blackouts):
            raise ValueError("startTime and blackouts go with every+unit")
        return self


MAX_SCHEDULES = 10


class NamedSchedule(Schedule):
    """One of several schedules of a project (``spec.schedules``), named so status and
    Events can say which one started a run."""

    name: str = Field(pattern=NAME_PATTERN, max_length=63)
    """Unique among the project's schedules."""


class Outcome(StrEnum):
    """Run outcomes a notification can be sent for.

    Completed, Warning and Error are run results; Recovered is the first Completed or
    Warning run after an Error run.
    """

    COMPLETED = "Completed"
    WARNING = "Warning"
    ERROR = "Error"
    RECOVERED = "Recovered"


DEFAULT_REMIND_EVERY = 10
MAX_WEBHOOKS = 20


def _default_outcomes() -> list[Outcome]:
    return [Outcome.WARNING, Outcome.ERROR, Outcome.RECOVERED]


class EmailNotification(ApiModel):
    """Email the result of a run, through the operator's SMTP server (SYNCLINE_SMTP_URL)."""

    to: list[str] = Field(min_length=1)
    """Recipients; an entry may hold several comma-separated addresses (a group)."""
    results: list[Outcome] = Field(default_factory=_default_outcomes)
    """Which run outcomes trigger an email: Completed, Warning, Error, Recovered (the first
    good run after an Error). (Not named `on`: YAML 1.1 reads that key as true.)"""
    remind_every: Annotated[int, Field(ge=0)] = DEFAULT_REMIND_EVERY
    """One email when the result changes; while it stays the same, another after every
    this many runs (0: never remind)."""


class WebhookFormat(StrEnum):
    """The body a webhook receives."""

    GENERIC = "generic"
    SLACK = "slack"
    TEAMS = "teams"


class WebhookNotification(ApiModel):
    """POST the run summary as JSON to a URL kept in a Secret."""

    name: str = Field(min_length=1, max_length=63)
    """Name of this webhook (in the run's status and in Events)."""
    url_secret_ref: LocalObjectReference
    """Secret whose key `url` holds the webhook URL (URLs often embed tokens)."""
    format: WebhookFormat = WebhookFormat.GENERIC
    """generic (Syncline's JSON, see docs/notifications.md), slack (an incoming-webhook
    message) or teams (an Adaptive Card message)."""
    results: list[Outcome] = Field(default_factory=_default_outcomes)
    """Which run outcomes trigger the webhook."""
    remind_every: Annotated[int, Field(ge=0)] = DEFAULT_REMIND_EVERY
    """One call when the result changes; while it stays the same, another after every
    this many runs (0: never remind)."""


class Notifications(ApiModel):
    """Who hears about runs. Kubernetes Events are always emitted."""

    email: EmailNotification | None = None
    """Email recipients."""
    webhooks: list[WebhookNotification] = Field(
        default_factory=list, max_length=MAX_WEBHOOKS, json_schema_extra=LIST_MAP_BY_NAME
    )
    """Webhooks (at most 20)."""


MEMORY_QUANTITY = r"^[1-9][0-9]*(Ki|Mi|Gi|Ti|k|M|G|T)?$"


class Limits(ApiModel):
    """Guardrails of a run."""

    max_rows_per_run: Annotated[int, Field(ge=0)] = DEFAULT_MAX_ROWS_PER_RUN
    """Most rows one task may read in one run; 0 means unlimited."""
    max_error_rate: Annotated[float, Field(ge=0, le=1)] | None = None
    """Largest share of failed rows (0..1) a run may have before it ends in Error."""
    timeout_seconds: Annotated[int, Field(ge=1)] | None = None
    """Wall-clock limit of one run; the run's pod is stopped after it."""
    memory: Annotated[str, Field(pattern=MEMORY_QUANTITY)] | None = None
    """Memory of the run's pod (e.g. 512Mi, 2Gi), requested and enforced: the pod is
    killed above it and the run ends in Error 2408. Default: the operator's
    SYNCLINE_ENGINE_MEMORY (1Gi)."""


class RunErrorRate(ApiModel):
    """Too many failed runs in a row: the share of recent runs that may end in Error."""

    share: Annotated[float, Field(ge=0, le=1)]
    """Largest share (0..1) of the last `runs` finished runs that may end in Error: a run
    in Error that puts more than share x runs of them in Error suspends the project (0:
    the first Error does)."""
    runs: Annotated[int, Field(ge=1, le=100)]
    """How many of the latest finished runs count (runs before the last resume do not)."""


class Guardrails(ApiModel):
    """Checks that stop a run that looks wrong before it writes, and suspend the project
    until someone looks (docs/runs.md#guardrails). A suspended project is Stalled; resume
    it with `syncline resume` or a new syncline.dev/resume annotation value."""

    max_run_error_rate: RunErrorRate | None = None
    """Suspend when too many of the last runs ended in Error (not limits.maxErrorRate,
    which is about failed rows within one run)."""
    max_changed_share: Annotated[float, Field(ge=0, le=1)] | None = None
    """Largest share (0..1) of a destination entity's rows one task may insert or update
    in one run; more writes nothing and suspends. An empty destination (the initial load)
    is exempt. Each task is then run twice: first without committing, to count."""
    empty_source_protection: bool = False
    """A full read (a task without incremental, or a full refresh) that finds no rows in
    the source while the destination entity has rows writes nothing and suspends."""


class GuardrailTrip(ApiModel):
    """The guardrail that suspended the project."""

    code: int
    """Catalog code of the trip (2503, 2504, 2505)."""
    message: str
    """What tripped, with the numbers."""
    run: str
    """The run that tripped it."""
    tripped_time: datetime
    """When the project was suspended."""


class History(ApiModel):
    """How long the execution history is kept."""

    retention_days: Annotated[int, Field(ge=1, le=3650)] = DEFAULT_RETENTION_DAYS
    """Runs and their logs older than this many days are deleted."""


class TemplateRef(ApiModel):
    """Reference to an IntegrationTemplate (same namespace) or a ClusterIntegrationTemplate."""

    kind: Literal["IntegrationTemplate", "ClusterIntegrationTemplate"] = "IntegrationTemplate"
    """Which kind of template."""
    name: str = Field(min_length=1)
    """The template's name."""


class IntegrationProjectSpec(ApiModel):
    """The desired state of an IntegrationProject."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "has(self.templateRef) || !has(self.tasks) || "
                    "self.tasks.all(t, has(t.source) && has(t.destination))",
                    "message": "without a templateRef every task needs source and destination",
                    "fieldPath": ".tasks",
                },
                {
                    "rule": "!has(self.schedule) || !has(self.schedules) || "
                    "size(self.schedules) == 0",
                    "message": "set schedule or schedules, not both",
                    "fieldPath": ".schedules",
                },
                {
                    "rule": "has(self.templateRef) || (has(self.tasks) && size(self.tasks) > 0)",
                    "message": "a project needs tasks or a templateRef",
                    "fieldPath": ".tasks",
                },
            ]
        }
    )

    connection_set_ref: LocalObjectReference
    """The ConnectionSet whose two connections the tasks use."""
    template_ref: TemplateRef | None = None
    """Template whose tasks the project starts from; the project's own tasks override them."""
    organization_mapping: str | None = None
    """Which of the ConnectionSet's organization mappings this project uses."""
    tasks: list[Task] = Field(
        default_factory=list, max_length=MAX_TASKS, json_schema_extra=LIST_MAP_BY_NAME
    )
    """Tasks, run in order. A task named like a template task overrides it field by field."""
    excluded_tasks: list[str] = Field(default_factory=list)
    """Template tasks this project leaves out."""
    schedule: Schedule | None = None
    """When to run; absent (and no schedules) means manual runs only."""
    schedules: list[NamedSchedule] = Field(
        default_factory=list, max_length=MAX_SCHEDULES, json_schema_extra=LIST_MAP_BY_NAME
    )
    """Several schedules instead of one (a weekday cron and a weekend one, say): the
    project runs at every fire time of each, never two runs at once."""
    suspend: bool = False
    """Stop scheduled runs (manual runs remain possible)."""
    notifications: Notifications | None = None
    """Who hears about runs."""
    limits: Limits = Field(default_factory=Limits)
    """Guardrails of a run."""
    guardrails: Guardrails = Field(default_factory=Guardrails)
    """Checks that suspend the project when a run looks wrong (all off by default)."""
    history: History = Field(default_factory=History)
    """How long runs are kept."""

    @model_validator(mode="after")
    def _one_way_to_schedule(self) -> IntegrationProjectSpec:
        if self.schedule is not None and self.schedules:
            raise ValueError("set schedule or schedules, not both")
        names = [s.name for s in self.schedules]
        if len(set(names)) != len(names):
            raise ValueError("schedule names must be unique")
        return self

    def named_schedules(self) -> list[tuple[str, Schedule]]:
        """Every schedule with its name ("" for ``schedule``); empty: manual runs only."""
        if self.schedule is not None:
            return [("", self.schedule)]
        return [(s.name, s) for s in self.schedules]


class LastRun(RunCounts):
    """Summary of the most recent finished run."""

    name: str
    """The IntegrationRun's name."""
    trigger: Trigger
    """What started it."""
    result: RunResult
    """How it ended."""
    error_code: int | None = None
    """Catalog code of the failure, when the run ended in Error."""
    start_time: datetime | None = None
    """When it started."""
    completion_time: datetime | None = None
    """When it finished."""


class Totals(ApiModel):
    """Counts over all runs the operator has seen for this project."""

    runs: int = 0
    """Finished runs."""
    completed: int = 0
    """Runs that ended Completed."""
    warnings: int = 0
    """Runs that ended with Warning."""
    errors: int = 0
    """Runs that ended in Error."""
    upserts: int = 0
    """Records inserted or updated, all runs together."""


class NotificationState(ApiModel):
    """The last run as notifications see it: its outcome and how long its result has held."""

    run: str
    """The run this describes (the project's lastRun)."""
    outcome: Outcome
    """Its outcome: its result, or Recovered for the first good run after an Error."""
    consecutive_runs: Annotated[int, Field(ge=1)] = 1
    """Runs in a row that ended with the last run's result, the last run included (the
    consecutive failures while it is Error)."""
    last_sent_run: str | None = None
    """The last run a notification was delivered for, on any channel."""
    last_sent_time: datetime | None = None
    """When that notification was delivered."""


class IntegrationProjectStatus(ApiModel):
    """The observed state of an IntegrationProject."""

    observed_generation: int | None = None
    """The metadata.generation this status describes."""
    conditions: list[Condition] = Field(default_factory=list)
    """Ready, LastRunSucceeded, and Reconciling/Stalled while they hold."""
    schedule: str | None = None
    """The effective cron expression (or "manual")."""
    cron_job_ref: LocalObjectReference | None = None
    """The CronJob that runs the project."""
    next_run_time: datetime | None = None
    """When the next scheduled run starts."""
    last_schedule_time: datetime | None = None
    """When a run was last scheduled."""
    last_fire_time: datetime | None = None
    """The last fire time handled by the operator for a schedule it drives (started or
    skipped); written before its Job is created, so a restart never starts it twice."""
    last_fire_job: str | None = None
    """The Job started for lastFireTime; absent when that fire time was skipped."""
    last_skipped_fire: str | None = None
    """The last fire time that started no run, and why (Overlap, Missed)."""
    last_successful_time: datetime | None = None
    """When a run last ended Completed or Warning."""
    last_run: LastRun | None = None
    """The most recent finished run."""
    totals: Totals | None = None
    """Counts over all runs."""
    last_manual_token: str | None = None
    """The last syncline.dev/run-now annotation value acted on (each token runs once)."""
    last_full_refresh_token: str | None = None
    """The last syncline.dev/full-refresh annotation value acted on (each token runs once)."""
    notifications: NotificationState | None = None
    """Where the project stands for notifications (the no-flooding rule's memory)."""
    guardrail: GuardrailTrip | None = None
    """The guardrail that suspended the project, while it holds (cleared by a resume)."""
    last_resume_token: str | None = None
    """The last syncline.dev/resume annotation value acted on (each token resumes once)."""
    last_resume_time: datetime | None = None
    """When the project was last resumed; runs before it no longer count for
    guardrails.maxRunErrorRate."""


class IntegrationProject(Resource):
    """Tasks that move data between the two connections of a ConnectionSet, on a schedule."""

    KIND: ClassVar[str] = "IntegrationProject"
    PLURAL: ClassVar[str] = "integrationprojects"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("iproj",)
    PRINTER_COLUMNS: ClassVar[tuple[dict[str, str], ...]] = (
        ready_column(),
        {"name": "Schedule", "type": "string", "jsonPath": ".status.schedule"},
        {"name": "Suspended", "type": "boolean", "jsonPath": ".spec.suspend"},
        {"name": "Last Result", "type": "string", "jsonPath": ".status.lastRun.result"},
        {"name": "Upserts", "type": "integer", "jsonPath": ".status.lastRun.upserts"},
        {"name": "Errors", "type": "integer", "jsonPath": ".status.lastRun.failed"},
        {"name": "Next Run", "type": "string", "jsonPath": ".status.nextRunTime"},
        AGE_COLUMN,
    )

    kind: Literal["IntegrationProject"] = "IntegrationProject"
    spec: IntegrationProjectSpec
    status: IntegrationProjectStatus | None = None
