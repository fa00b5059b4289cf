"""Prometheus metrics, owned by the operator.

Run pods are short-lived, so they do not expose metrics themselves; the operator
turns each finished IntegrationRun into metric updates (no Pushgateway needed).
Every update goes through one ``Recorder`` with intent-named methods, and a
deleted project's series are removed with it so dashboards do not show ghosts.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

ROW_OUTCOMES = ("inserted", "updated", "unchanged", "filtered", "failed")
RUN_RESULTS = ("Completed", "Warning", "Error")
_RUN_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600)
_RECONCILE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


@dataclass(frozen=True)
class FinishedRun:
    """What the metrics need to know about one finished run."""

    namespace: str
    project: str
    result: str
    duration_seconds: float
    completion_timestamp: float
    rows: dict[str, int] = field(default_factory=dict)


class Recorder:
    """All Syncline metrics in one registry, updated through intent-named methods."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        project = ["namespace", "project"]
        self._runs = Counter(
            "syncline_runs",
            "Finished integration runs by result.",
            [*project, "result"],
            registry=self.registry,
        )
        self._rows = Counter(
            "syncline_rows",
            "Records processed by finished runs, by outcome.",
            [*project, "outcome"],
            registry=self.registry,
        )
        self._duration = Histogram(
            "syncline_run_duration_seconds",
            "Wall-clock duration of finished runs.",
            project,
            buckets=_RUN_BUCKETS,
            registry=self.registry,
        )
        self._last_run = _Timestamps(
            Gauge(
                "syncline_last_run_timestamp_seconds",
                "When the project's last run finished (Unix time).",
                project,
                registry=self.registry,
            )
        )
        self._last_success = _Timestamps(
            Gauge(
                "syncline_last_success_timestamp_seconds",
                "When the project's last Completed or Warning run finished (Unix time).",
                project,
                registry=self.registry,
            )
        )
        self._schedule_interval = Gauge(
            "syncline_project_schedule_interval_seconds",
            "The longest wait between the project's scheduled runs over the coming year "
            "(no series when it runs only on request or is suspended).",
            project,
            registry=self.registry,
        )
        self._condition = Gauge(
            "syncline_resource_condition",
            "1 when the resource's condition has the given status, else 0.",
            ["kind", "namespace", "name", "condition", "status"],
            registry=self.registry,
        )
        self._reconcile_errors = Counter(
            "syncline_reconcile_errors",
            "Reconciliations that ended with an error.",
            ["kind"],
            registry=self.registry,
        )
        self._reconcile_duration = Histogram(
            "syncline_reconcile_duration_seconds",
            "Time spent reconciling one resource.",
            ["kind"],
            buckets=_RECONCILE_BUCKETS,
            registry=self.registry,
        )
        self._notifications = Counter(
            "syncline_notifications",
            "Run notifications by channel (email, webhook) and result (Sent, Failed, Skipped).",
            ["channel", "result"],
            registry=self.registry,
        )
        self._builtin_work = Counter(
            "syncline_builtin_work",
            "Runs of built-in schedules (history-cleanup, audit-verification, ...) by result.",
            ["work", "result"],
            registry=self.registry,
        )
        self._audit_failures = Counter(
            "syncline_audit_failures",
            "Audit problems: a failed verification (2700/2705) or syslog forwarding (2702).",
            ["code"],
            registry=self.registry,
        )
        self._conditions_seen: dict[tuple[str, str, str], set[str]] = {}

    def run_finished(self, run: FinishedRun) -> None:
        """Count a finished run once (the caller guarantees once per run)."""
        labels = (run.namespace, run.project)
        self._runs.labels(*labels, run.result).inc()
        for outcome in ROW_OUTCOMES:
            self._rows.labels(*labels, outcome).inc(run.rows.get(outcome, 0))
        self._duration.labels(*labels).observe(run.duration_seconds)
        self._last_run.advance(labels, run.completion_timestamp)
        if run.result in ("Completed", "Warning"):
            self._last_success.advance(labels, run.completion_timestamp)

    def project_observed(
        self,
        namespace: str,
        project: str,
        interval_seconds: float | None,
        last_run: float | None = None,
        last_success: float | None = None,
    ) -> None:
        """What a reconcile knows of a project, so alerts hold from the operator's start.

        The run and row counters appear at zero (a series born at its first increment
        hides that run from ``increase()``); the expected interval between scheduled runs
        is set, or removed when there is none; the last run and last success come from
        status, so runs that finished before this process started still count.
        """
        labels = (namespace, project)
        for result in RUN_RESULTS:
            self._runs.labels(*labels, result)
        for outcome in ROW_OUTCOMES:
            self._rows.labels(*labels, outcome)
        if interval_seconds is None:
            _remove(self._schedule_interval, labels)
        else:
            self._schedule_interval.labels(*labels).set(interval_seconds)
        if last_run is not None:
            self._last_run.advance(labels, last_run)
        if last_success is not None:
            self._last_success.advance(labels, last_success)

    def builtin_work(self, work: str, result: str) -> None:
        self._builtin_work.labels(work, result).inc()

    def audit_failure(self, code: int) -> None:
        self._audit_failures.labels(str(code)).inc()

    def notification(self, channel: str, result: str) -> None:
        """Count one channel's notification about one run by how it ended."""
        self._notifications.labels(channel, result).inc()

    def condition(self, kind: str, namespace: str, name: str, condition: str, status: str) -> None:
        """Record a condition's status as a one-hot gauge over True/False/Unknown."""
        for candidate in ("True", "False", "Unknown"):
            value = 1.0 if candidate == status else 0.0
            self._condition.labels(kind, namespace, name, condition, candidate).set(value)
        self._conditions_seen.setdefault((kind, namespace, name), set()).add(condition)

    def reconciled(self, kind: str, seconds: float, failed: bool = False) -> None:
        """Time one reconciliation; count it as an error when it failed."""
        self._reconcile_duration.labels(kind).observe(seconds)
        if failed:
            self._reconcile_errors.labels(kind).inc()

    def forget_project(self, namespace: str, project: str) -> None:
        """Remove every series of a deleted project."""
        labels = (namespace, project)
        for result in RUN_RESULTS:
            _remove(self._runs, (*labels, result))
        for outcome in ROW_OUTCOMES:
            _remove(self._rows, (*labels, outcome))
        for metric in (self._duration, self._schedule_interval):
            _remove(metric, labels)
        self._last_run.forget(labels)
        self._last_success.forget(labels)
        self.forget_resource("IntegrationProject", namespace, project)

    def forget_resource(self, kind: str, namespace: str, name: str) -> None:
        """Remove the condition series of a deleted resource."""
        for condition in self._conditions_seen.pop((kind, namespace, name), set()):
            for status in ("True", "False", "Unknown"):
                _remove(self._condition, (kind, namespace, name, condition, status))

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)


class _Timestamps:
    """A per-project Unix-time gauge that only moves forward: a status read before the
    latest run landed must not take it back."""

    def __init__(self, gauge: Gauge) -> None:
        self._gauge = gauge
        self._latest: dict[tuple[str, str], float] = {}

    def advance(self, labels: tuple[str, str], timestamp: float) -> None:
        if timestamp > self._latest.get(labels, float("-inf")):
            self._latest[labels] = timestamp
            self._gauge.labels(*labels).set(timestamp)

    def forget(self, labels: tuple[str, str]) -> None:
        self._latest.pop(labels, None)
        _remove(self._gauge, labels)


def _remove(metric: Counter | Gauge | Histogram, labels: Iterable[str]) -> None:
    with contextlib.suppress(KeyError):
        metric.remove(*labels)


RECORDER = Recorder()
"""The operator's process-wide recorder, served on /metrics."""

P = ParamSpec("P")
R = TypeVar("R")


def timed(kind: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Record a reconcile function's duration, and an error when it raises."""

    def decorate(reconcile: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(reconcile)
        def timed_reconcile(*args: P.args, **kwargs: P.kwargs) -> R:
            started, failed = time.perf_counter(), True
            try:
                result = reconcile(*args, **kwargs)
                failed = False
                return result
            finally:
                RECORDER.reconciled(kind, time.perf_counter() - started, failed)

        return timed_reconcile

    return decorate
