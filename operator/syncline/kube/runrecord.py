"""Write an IntegrationRun as the engine goes: created once, Running with progress, then final.

The run is named after its Job, so whoever creates it first (this engine or the
operator watching Jobs) wins and the other sees AlreadyExists: exactly one run per Job.
Progress patches are throttled so a fast run does not flood the API server, and are
best effort: a run goes on while the API server restarts. The calls that must land (the
run created, started, finished) ride out a brief outage; the final result is written
under optimistic concurrency, so it never overwrites a result someone else wrote first.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from syncline.api import GROUP, VERSION
from syncline.api.run import IntegrationRunStatus, RunResult, Trigger
from syncline.errors import SynclineError
from syncline.history.naming import PROJECT_LABEL, RUN_LOG_KEY, log_config_map_name
from syncline.history.records import error_status, rfc3339, run_manifest, succeeded_condition
from syncline.kube import plain
from syncline.kube.client import StatusAddress, through_outages, update_status

log = logging.getLogger(__name__)
PLURAL = "integrationruns"
MAX_LOG_BYTES = 900_000
"""A ConfigMap holds at most 1 MiB; the log keeps its head and tail within this."""


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class RunRecord:
    """The IntegrationRun of one execution, seen from the process doing the run."""

    def __init__(
        self,
        api: client.ApiClient,
        namespace: str,
        name: str,
        project: str,
        trigger: Trigger,
        progress_interval: float = 2.0,
        *,
        full_refresh: bool = False,
    ) -> None:
        self.custom = client.CustomObjectsApi(api)
        self.api = api
        self.namespace, self.name, self.project, self.trigger = namespace, name, project, trigger
        self.progress_interval = progress_interval
        self.full_refresh = full_refresh
        self._last_progress = 0.0
        self.uid: str | None = None

    def ensure(self, project_uid: str | None, job_name: str | None) -> None:
        """Create the run unless it exists; either way remember its uid."""
        body = run_manifest(
            self.name,
            self.project,
            self.trigger.value,
            project_uid,
            job_name,
            full_refresh=self.full_refresh,
        )
        try:
            created: Any = through_outages(
                lambda: self.custom.create_namespaced_custom_object(
                    GROUP, VERSION, self.namespace, PLURAL, body
                ),
                "create run",
            )
        except ApiException as err:
            if err.status != 409:
                raise
            created = through_outages(
                lambda: self.custom.get_namespaced_custom_object(
                    GROUP, VERSION, self.namespace, PLURAL, self.name
                ),
                "read run",
            )
        self.uid = created["metadata"]["uid"]

    def started(self, *, first_only: bool = False) -> None:
        """Running since now; with ``first_only`` (one of several pods of the run) only
        if no pod said so before, so the run's start is its first pod's."""
        status = {"result": RunResult.RUNNING.value, "startTime": rfc3339(now())}
        if not first_only:
            through_outages(lambda: self._patch(status), "start run")
            return

        def unless_started(current: dict[str, Any]) -> dict[str, Any] | None:
            return None if (current.get("status") or {}).get("startTime") else status

        update_status(self.custom, StatusAddress(PLURAL, self.namespace, self.name), unless_started)

    def progress(self, status: IntegrationRunStatus) -> None:
        """Running with the counts so far, at most once per ``progress_interval``; a
        progress write that fails is skipped (the next one, or the result, follows).

        The write only applies while the run is still Running (a JSON Patch ``test``,
        one request, no read): a plain merge patch landing just after ``syncline runs
        fail`` put the run back to Running, and the operator then closed it as 2402
        instead of the person's 2403 (seen in tests/e2e/test_runs.py)."""
        if time.monotonic() - self._last_progress < self.progress_interval:
            return
        self._last_progress = time.monotonic()
        fields = _without_timing(status, RunResult.RUNNING)
        still_running = {"op": "test", "path": "/status/result", "value": fields["result"]}
        ops = [still_running] + [
            {"op": "add", "path": f"/status/{key}", "value": value} for key, value in fields.items()
        ]
        try:
            self.custom.patch_namespaced_custom_object_status(
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                self.name,
                ops,
                _content_type="application/json-patch+json",
            )
        except Exception as err:  # ended meanwhile (422), or an API outage: data moves on
            log.warning("progress not recorded", extra={"error": type(err).__name__})

    def finished(self, status: IntegrationRunStatus) -> None:
        """The final result, unless the run was ended meanwhile (`syncline runs fail`,
        or the operator closing it)."""
        wire = status.model_dump(mode="json", by_alias=True, exclude_none=True)
        wire.setdefault("completionTime", rfc3339(now()))
        wire["conditions"] = [succeeded_condition(status.result, status.message or "", now())]
        self._close(wire)

    def failed(self, error: SynclineError, started: datetime) -> None:
        """The run could not run at all (validation, connection, missing credential)."""
        self._close(error_status(error, now(), started))

    def _close(self, final: dict[str, Any]) -> None:
        def unless_ended(current: dict[str, Any]) -> dict[str, Any] | None:
            result = (current.get("status") or {}).get("result", RunResult.PENDING.value)
            return None if RunResult(result).finished else final

        update_status(self.custom, StatusAddress(PLURAL, self.namespace, self.name), unless_ended)

    def store_log(self, text: str, part: str = RUN_LOG_KEY) -> None:
        """Keep the full run log in a ConfigMap owned by the run (deleted with it); each
        pod of a split task keeps its own ``part`` there (see ``history.naming.run_log``)."""
        name = log_config_map_name(self.name)
        body = {
            "metadata": {
                "name": name,
                "labels": {PROJECT_LABEL: self.project, "syncline.dev/run": self.name},
                "ownerReferences": [
                    {
                        "apiVersion": f"{GROUP}/{VERSION}",
                        "kind": "IntegrationRun",
                        "name": self.name,
                        "uid": self.uid,
                    }
                ],
            },
            "data": {part: _bounded(text)},
        }
        where = plain.path("v1", "configmaps", self.namespace)
        try:
            through_outages(lambda: plain.create(self.api, where, body), "log")
        except ApiException as err:
            if err.status != 409:
                raise
            named = plain.path("v1", "configmaps", self.namespace, name)
            through_outages(lambda: plain.patch(self.api, named, body), "log")
        through_outages(lambda: self._patch({"logRef": name}), "log reference")

    def _patch(self, status: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, self.namespace, PLURAL, self.name, {"status": status}
        )


def _without_timing(status: IntegrationRunStatus, result: RunResult) -> dict[str, Any]:
    wire = status.model_dump(
        mode="json", by_alias=True, exclude_none=True, exclude={"completion_time", "start_time"}
    )
    wire["result"] = result.value
    return wire


def _bounded(text: str) -> str:
    data = text.encode()
    if len(data) <= MAX_LOG_BYTES:
        return text
    half = MAX_LOG_BYTES // 2
    head = data[:half].decode(errors="ignore")
    tail = data[-half:].decode(errors="ignore")
    return f"{head}\n... {len(data) - 2 * half} bytes of log omitted ...\n{tail}"
