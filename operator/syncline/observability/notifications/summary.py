"""What a notification says about a run: facts from its status, scrubbed, no row data.

Every channel renders the same :class:`RunSummary`: project, namespace, run, trigger,
result and outcome, times, counts, the first problems (catalog code, name and message:
the run's error, task errors, row errors grouped by code, task and field, then
warnings) and how to see the whole log. Row errors are named by task and field only,
never by their integration key or values. Every text passes through the caller's
:class:`~syncline.redaction.Redactor` (the credentials the operator knows for the
project, its SMTP login and its webhook URLs): the engine scrubbed them already, and a
run record written by anything else gets the same treatment here.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from syncline.api.run import IntegrationRun, IntegrationRunStatus
from syncline.errors import BY_CODE, BY_NAME
from syncline.observability.notifications.policy import Occasion, Standing
from syncline.redaction import Redactor

MAX_PROBLEMS = 5
"""Problems a notification lists; the rest are counted (the run's status has them all)."""
MAX_MESSAGE = 500
COUNT_NAMES = ("read", "inserted", "updated", "unchanged", "filtered", "failed", "upserts")
_CODED = re.compile(r"(\d{4}) ([A-Z][A-Za-z0-9]*): (.*)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Problem:
    """One error or warning of a run, as a notification shows it."""

    code: int | None
    name: str | None
    message: str
    task: str | None = None
    field: str | None = None
    count: int = 1
    severity: str = "error"

    def line(self) -> str:
        """``2303 RowRejected (task orders, field total, 3 rows): message``."""
        where = [f"task {self.task}"] if self.task else []
        where += [f"field {self.field}"] if self.field else []
        where += [f"{self.count} rows"] if self.count > 1 else []
        head = " ".join(str(p) for p in (self.code, self.name) if p) or self.severity
        place = " (" + ", ".join(where) + ")" if where else ""
        return f"{head}{place}: {self.message}"


@dataclass(frozen=True, slots=True)
class RunSummary:
    """Everything a notification about one run may say."""

    namespace: str
    project: str
    run: str
    trigger: str
    result: str
    outcome: str
    occasion: Occasion
    consecutive_runs: int
    start_time: datetime | None
    completion_time: datetime | None
    duration_seconds: float | None
    counts: dict[str, int]
    message: str
    problems: tuple[Problem, ...] = field(default=())
    problems_total: int = 0

    @property
    def headline(self) -> str:
        """``sales/products: Error (run products-1)``, or the reminder's count."""
        what = self.outcome
        if self.occasion is Occasion.REMINDER:
            what = f"still {self.result} ({self.consecutive_runs} runs in a row)"
        return f"{self.namespace}/{self.project}: {what} (run {self.run})"

    @property
    def log_commands(self) -> tuple[str, str]:
        """How to see the whole run: its log, and its record."""
        return (
            f"syncline runs logs {self.run} -n {self.namespace}",
            f"kubectl get integrationrun {self.run} -n {self.namespace} -o yaml",
        )


def summarize_run(
    run: IntegrationRun, standing: Standing, occasion: Occasion, redactor: Redactor
) -> RunSummary:
    """The summary of a finished run (``run.status`` is set)."""
    status = run.status or IntegrationRunStatus()
    problems = problems_of(status, redactor)
    return RunSummary(
        namespace=run.metadata.namespace or "",
        project=run.spec.project_ref.name,
        run=run.metadata.name or "",
        trigger=run.spec.trigger.value,
        result=status.result.value,
        outcome=standing.outcome.value,
        occasion=occasion,
        consecutive_runs=standing.consecutive_runs,
        start_time=status.start_time,
        completion_time=status.completion_time,
        duration_seconds=status.duration_seconds,
        counts={name: int(getattr(status, name)) for name in COUNT_NAMES},
        message=_short(redactor(status.message or "")),
        problems=tuple(problems[:MAX_PROBLEMS]),
        problems_total=len(problems),
    )


def problems_of(status: IntegrationRunStatus, redactor: Redactor) -> list[Problem]:
    """The run's error, task errors, row errors (grouped by code, task, field and
    message), then warnings; an error repeated by its task is listed once."""
    found: list[Problem] = []
    if status.error_code is not None and status.message:
        found.append(coded(status.message, redactor, default_code=status.error_code))
    for task in status.tasks:
        if task.error:
            found.append(coded(task.error, redactor, task=task.name))
    groups = Counter((e.code, e.task, e.field, e.message) for e in status.row_errors)
    for (code, task_name, field_name, message), count in groups.items():
        spec = BY_CODE.get(code)
        text = _short(redactor(_CODED.sub(r"\3", message)))
        name = spec.name if spec else None
        found.append(Problem(code, name, text, task_name, field_name, count))
    for task in status.tasks:
        for warning in task.warnings:
            found.append(coded(warning, redactor, task=task.name, severity="warning"))
    found += [coded(w, redactor, severity="warning") for w in status.warnings]
    unique: dict[tuple[int | None, str, str | None], Problem] = {}
    for problem in found:  # the run's error is also its task's: keep the one naming the task
        key = (problem.code, problem.message, problem.field)
        if key not in unique or unique[key].task is None:
            unique[key] = problem
    return list(unique.values())


def coded(
    text: str,
    redactor: Redactor,
    *,
    task: str | None = None,
    default_code: int | None = None,
    severity: str = "error",
) -> Problem:
    """A ``"<code> <Name>: <message>"`` text as a problem (its message scrubbed)."""
    match = _CODED.fullmatch(text.strip())
    if match and match.group(2) in BY_NAME:
        message = _short(redactor(match.group(3)))
        return Problem(int(match.group(1)), match.group(2), message, task, severity=severity)
    spec = BY_CODE.get(default_code) if default_code is not None else None
    name = spec.name if spec else None
    return Problem(default_code, name, _short(redactor(text)), task, severity=severity)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"
