"""IntegrationRun objects as the REST API shows them, and the filters on them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from syncline.api.run import IntegrationRun, RunCounts, RunResult, Trigger
from syncline.history.naming import PROJECT_LABEL, TRIGGER_LABEL
from syncline.rest.models import RunDetails, RunSummary


def parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def started_at(obj: dict[str, Any]) -> datetime | None:
    """When a run started; a run that never started counts from its creation."""
    status = obj.get("status") or {}
    meta = obj.get("metadata") or {}
    return parse_time(status.get("startTime")) or parse_time(meta.get("creationTimestamp"))


def result_of(obj: dict[str, Any]) -> str:
    return str((obj.get("status") or {}).get("result") or RunResult.PENDING.value)


@dataclass(frozen=True)
class RunFilter:
    """What a runs listing asks for. Project and trigger go to the API server as label
    selectors; result and time range are checked here."""

    project: str | None = None
    result: RunResult | None = None
    trigger: Trigger | None = None
    since: datetime | None = None
    until: datetime | None = None

    def label_selector(self) -> str:
        terms = []
        if self.project:
            terms.append(f"{PROJECT_LABEL}={self.project}")
        if self.trigger:
            terms.append(f"{TRIGGER_LABEL}={self.trigger.value}")
        return ",".join(terms)

    def keeps(self, obj: dict[str, Any]) -> bool:
        if self.result is not None and result_of(obj) != self.result.value:
            return False
        if self.since is None and self.until is None:
            return True
        start = started_at(obj)
        if start is None:
            return False
        if self.since is not None and start < self.since:
            return False
        return not (self.until is not None and start >= self.until)

    def fingerprint_fields(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "result": self.result,
            "trigger": self.trigger,
            "since": self.since,
            "until": self.until,
        }


def summary(obj: dict[str, Any]) -> RunSummary:
    run = IntegrationRun.model_validate(obj)
    status = run.status
    fields = RunCounts.model_fields
    counts = RunCounts(**{k: getattr(status, k) for k in fields}) if status else RunCounts()
    return RunSummary(
        namespace=run.metadata.namespace or "",
        name=run.metadata.name or "",
        project=run.spec.project_ref.name,
        trigger=run.spec.trigger,
        result=status.result if status else RunResult.PENDING,
        start_time=status.start_time if status else None,
        completion_time=status.completion_time if status else None,
        duration_seconds=status.duration_seconds if status else None,
        counts=counts,
        error_code=status.error_code if status else None,
        message=status.message if status else None,
    )


def details(obj: dict[str, Any]) -> RunDetails:
    run = IntegrationRun.model_validate(obj)
    status = run.status
    base = summary(obj).model_dump()
    return RunDetails(
        **base,
        full_refresh=run.spec.full_refresh,
        job=run.spec.job_ref.name if run.spec.job_ref else None,
        tasks=status.tasks if status else [],
        row_errors=status.row_errors if status else [],
        warnings=status.warnings if status else [],
        log_available=bool(status and status.log_ref),
    )
