"""Response and request bodies of the REST API (camelCase on the wire, like Kubernetes)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from syncline.api.base import NAME_PATTERN
from syncline.api.project import LastRun
from syncline.api.run import RowError, RunCounts, RunResult, TaskResult, Trigger


class Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class ProjectSummary(Body):
    """A project and how its data is doing."""

    namespace: str
    name: str
    ready: str | None = Field(None, description='The Ready condition: "True", "False", ...')
    reason: str | None = None
    schedule: str | None = None
    suspended: bool = False
    next_run_time: datetime | None = None
    last_successful_time: datetime | None = None
    last_run: LastRun | None = None


class ProjectList(Body):
    items: list[ProjectSummary]


class RunSummary(Body):
    """One run, as listed."""

    namespace: str
    name: str
    project: str
    trigger: Trigger
    result: RunResult
    start_time: datetime | None = None
    completion_time: datetime | None = None
    duration_seconds: float | None = None
    counts: RunCounts
    error_code: int | None = None
    message: str | None = None


class RunDetails(RunSummary):
    """One run with its per-task results and a sample of its row errors."""

    full_refresh: bool = False
    job: str | None = None
    tasks: list[TaskResult] = Field(default_factory=list)
    row_errors: list[RowError] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    log_available: bool = False


class RunPage(Body):
    """A page of runs in the API server's order (by namespace, then name)."""

    items: list[RunSummary]
    continue_: str | None = Field(
        None,
        alias="continue",
        description="Pass as ?continue= for the next page; absent on the last page.",
    )


class RunStarted(Body):
    """A run-now request accepted: the operator starts the run (its name is known now)."""

    namespace: str
    project: str
    run: str
    token: str


class Outcome(Body):
    """A catalog message reporting a change that was made (e.g. 2403)."""

    code: int
    name: str
    message: str


class SaveTemplate(Body):
    """Where to save a project's tasks as an IntegrationTemplate."""

    name: str = Field(min_length=1, max_length=253, pattern=NAME_PATTERN)
    description: str | None = Field(None, max_length=1000)


class TemplateSaved(Body):
    namespace: str
    name: str
    tasks: int


class ProjectRef(Body):
    namespace: str
    name: str
    last_successful_time: datetime | None = None


class ProtectionReport(Body):
    """Which projects had a successful run (Completed or Warning) in the last ``days``."""

    days: int
    since: datetime
    protected: list[ProjectRef]
    unprotected: list[ProjectRef]


class ErrorCodeCount(Body):
    code: int
    name: str
    runs: int = Field(description="Runs that ended with this code or had rows fail with it.")


class ErrorCodesReport(Body):
    days: int
    since: datetime
    codes: list[ErrorCodeCount]


class Freshness(Body):
    namespace: str
    name: str
    last_successful_time: datetime | None = None
    seconds_since_success: float | None = Field(
        None, description="Absent when the project never had a successful run."
    )


class FreshnessReport(Body):
    now: datetime
    items: list[Freshness]


class CatalogEntry(Body):
    code: int
    name: str
    http_status: int
    category: str
    message: str
