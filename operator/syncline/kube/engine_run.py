"""One execution inside a run pod: resolve the project, run it, record everything.

Whatever happens, the IntegrationRun ends in a finished result: a failure before
any data moves (missing object, missing credential, validation) is recorded as
Error with its catalog code, and the process exits non-zero so the Job fails too.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kubernetes import client

from syncline.api.run import RunResult, Trigger
from syncline.engine.report import RunReport
from syncline.engine.runner import run_project
from syncline.errors import SynclineError
from syncline.history.naming import effective_trigger
from syncline.kube.resolve import Reader
from syncline.kube.runrecord import RunRecord, now

log = logging.getLogger("syncline.engine.run")


def execute(
    api: client.ApiClient,
    *,
    namespace: str,
    project: str,
    run_name: str,
    trigger: Trigger,
    full_refresh: bool,
) -> int:
    """Run PROJECT as RUN; returns the process exit code (0 unless the run ended in Error)."""
    record = RunRecord(api, namespace, run_name, project, trigger)
    reader = Reader(api, namespace)
    started = now()
    with captured_log() as buffer:
        try:
            model, last_result = reader.project(project)
            label = None if trigger is Trigger.SCHEDULE else trigger.value
            record.trigger = Trigger(effective_trigger(label, last_result))
            record.ensure(model.metadata.uid, os.environ.get("SYNCLINE_JOB_NAME"))
            record.started()
            log.info("run started", extra={"run": run_name, "trigger": record.trigger.value})
            resolved = reader.resolve(model, os.environ)
            report = run_project(
                resolved,
                full_refresh=full_refresh,
                on_progress=lambda r: record.progress(r.to_status()),
            )
            result = _finish(record, report)
        except Exception as exc:  # every failure must end the run record, not leave it Running
            err = exc if isinstance(exc, SynclineError) else _unexpected(run_name, exc)
            log.error("run failed", extra={"code": err.code, "error": str(err)})
            if record.uid is None:
                record.ensure(None, os.environ.get("SYNCLINE_JOB_NAME"))
            record.failed(err, started)
            result = RunResult.ERROR
        finally:
            if record.uid is not None:
                record.store_log(buffer.getvalue())
    return 1 if result is RunResult.ERROR else 0


def _finish(record: RunRecord, report: RunReport) -> RunResult:
    status = report.to_status()
    record.finished(status)
    log.info(
        "run finished",
        extra={"result": status.result.value, "read": status.read, "upserts": status.upserts},
    )
    return status.result


def _unexpected(run_name: str, exc: Exception) -> SynclineError:
    log.exception("unexpected failure")
    return SynclineError("RunFailed", name=run_name, detail=f"{type(exc).__name__}: {exc}"[:500])


class JsonLines(logging.Formatter):
    """One JSON object per log record: time, level, logger, message and structured extras."""

    _STANDARD = set(vars(logging.makeLogRecord({})))

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in self._STANDARD})
        return json.dumps(entry, default=str)


@contextmanager
def captured_log() -> Iterator[io.StringIO]:
    """Send Syncline's log as JSON lines to stderr and to a buffer kept as the run log."""
    buffer = io.StringIO()
    logger = logging.getLogger("syncline")
    handlers: list[logging.Handler] = [
        logging.StreamHandler(sys.stderr),
        logging.StreamHandler(buffer),
    ]
    for handler in handlers:
        handler.setFormatter(JsonLines())
        logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield buffer
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
        logger.setLevel(previous)
