"""One execution inside a run pod: resolve the project, run it, record everything.

Whatever happens, the IntegrationRun ends in a finished result: a failure before
any data moves (missing object, missing credential, validation) is recorded as
Error with its catalog code, and the process exits non-zero so the Job fails too.

Nothing this process publishes (the run's status, its log on stderr and in the log
ConfigMap) shows a credential value: every text goes through one
:class:`~syncline.redaction.Redactor` built, before anything else happens, from the
pod's credential environment (exactly the ConnectionSet's credentials).
"""

from __future__ import annotations

import io
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from kubernetes import client

from syncline.api.connection import credential_env_values
from syncline.api.run import RunResult, Trigger
from syncline.engine.logs import JsonLinesFormatter
from syncline.engine.report import RunReport
from syncline.engine.runner import run_project
from syncline.errors import SynclineError
from syncline.history.naming import RUN_LOG_KEY, effective_trigger, pod_log_key
from syncline.kube.partitions import PartitionedRun
from syncline.kube.resolve import Reader
from syncline.kube.runrecord import RunRecord, now
from syncline.redaction import NO_SECRETS, Redactor
from syncline.scheduling.scale_out import PARTITIONS_ENV

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
    record = RunRecord(api, namespace, run_name, project, trigger, full_refresh=full_refresh)
    reader = Reader(api, namespace)
    started = now()
    redactor = Redactor(credential_env_values(os.environ))
    pod = _pod_of_split_task()
    with captured_log(redactor) as buffer:
        try:
            model, last_result = reader.project(project)
            label = None if trigger is Trigger.SCHEDULE else trigger.value
            record.trigger = Trigger(effective_trigger(label, last_result))
            record.ensure(model.metadata.uid, os.environ.get("SYNCLINE_JOB_NAME"))
            record.started(first_only=pod is not None)
            log.info("run started", extra={"run": run_name, "trigger": record.trigger.value})
            resolved = reader.resolve(model, os.environ)
            if pod is not None:
                partitioned = PartitionedRun(record, resolved, *pod)
                result = _run_partition(partitioned, full_refresh, redactor)
            else:
                report = run_project(
                    resolved,
                    full_refresh=full_refresh,
                    on_progress=lambda r: record.progress(r.to_status(redactor)),
                )
                result = _finish(record, report, redactor)
        except Exception as exc:  # every failure must end the run record, not leave it Running
            err = exc if isinstance(exc, SynclineError) else _unexpected(run_name, exc)
            err = redactor.error(err)
            log.error("run failed", extra={"code": err.code, "error": str(err)})
            if record.uid is None:
                record.ensure(None, os.environ.get("SYNCLINE_JOB_NAME"))
            record.failed(err, started)
            result = RunResult.ERROR
        finally:
            if record.uid is not None:
                part = pod_log_key(pod[0], _attempt()) if pod is not None else RUN_LOG_KEY
                record.store_log(buffer.getvalue(), part)
    return 1 if result is RunResult.ERROR else 0


def _pod_of_split_task() -> tuple[int, int] | None:
    """(index, pods) when this pod has a share of a task split over an Indexed Job."""
    pods = int(os.environ.get(PARTITIONS_ENV) or 1)
    if pods < 2:
        return None
    return int(os.environ.get("JOB_COMPLETION_INDEX") or 0), pods


def _attempt() -> str:
    """Tells a retried pod's log from the first attempt's (both are kept)."""
    return os.environ.get("SYNCLINE_POD_NAME") or str(os.getpid())


def _run_partition(
    partitioned: PartitionedRun, full_refresh: bool, redactor: Redactor
) -> RunResult:
    """This pod's range of the split task, once: a retry after the range was recorded
    starts nothing (exactly once per range)."""
    earlier = partitioned.recorded()
    if earlier is not None:
        log.info("range already recorded", extra={"pod": partitioned.index})
        return earlier.result
    key_range = partitioned.key_range()
    log.info(
        "range started",
        extra={"pod": partitioned.index, "low": key_range.low, "high": key_range.high},
    )
    report = run_project(partitioned.project, full_refresh=full_refresh, partition=key_range)
    return partitioned.finish(report, redactor)


def _finish(record: RunRecord, report: RunReport, redactor: Redactor) -> RunResult:
    status = report.to_status(redactor)
    record.finished(status)
    log.info(
        "run finished",
        extra={"result": status.result.value, "read": status.read, "upserts": status.upserts},
    )
    return status.result


def _unexpected(run_name: str, exc: Exception) -> SynclineError:
    log.exception("unexpected failure")
    return SynclineError("RunFailed", name=run_name, detail=f"{type(exc).__name__}: {exc}"[:500])


@contextmanager
def captured_log(redactor: Redactor = NO_SECRETS) -> Iterator[io.StringIO]:
    """Send Syncline's log as JSON lines to stderr and to a buffer kept as the run log,
    scrubbed of the secret values ``redactor`` knows."""
    buffer = io.StringIO()
    logger = logging.getLogger("syncline")
    handlers: list[logging.Handler] = [
        logging.StreamHandler(sys.stderr),
        logging.StreamHandler(buffer),
    ]
    for handler in handlers:
        handler.setFormatter(JsonLinesFormatter(redactor))
        logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield buffer
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
        logger.setLevel(previous)
