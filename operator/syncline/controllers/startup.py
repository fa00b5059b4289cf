"""The operator as kopf sees it: importing this module registers every handler.

kopf's own bookkeeping goes into annotations under kopf.syncline.dev (never into status,
which the structural schemas prune), handlers retry quickly on API hiccups, and only
events we post explicitly become Kubernetes Events (log lines do not).

Why a subdomain and not syncline.dev itself: kopf leaves every annotation under its
storage prefix out of the object's "essence", so with the bare domain a change of
``syncline.dev/refresh`` or ``syncline.dev/upstream-change`` would never trigger a handler.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import kopf

from syncline.api.base import GROUP
from syncline.controllers import (  # noqa: F401 - imported to register their handlers
    connection,
    connectionset,
    dependencies,
    drift,
    housekeeping,
    metrics_endpoint,
    project,
    requests,
    runs,
    scheduler,
    template,
)

STORAGE_PREFIX = f"kopf.{GROUP}"


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    """kopf settings that Syncline relies on; see docs/operator.md."""
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=STORAGE_PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=STORAGE_PREFIX, key="last-handled-configuration"
    )
    settings.posting.level = logging.INFO
    settings.posting.loggers = False
    settings.execution.max_workers = 16  # handlers wait on the API, not on CPU
    settings.watching.server_timeout = 300
    settings.networking.error_backoffs = [1, 2, 5, 10]
    logging.getLogger("kopf.objects").addFilter(quiet_routine_successes)


ROUTINE_SUCCESS = re.compile(r"^(Timer|Handler) '([a-z_]+)' succeeded\.$")
ROUTINE_HANDLERS = frozenset(
    {
        "fire_due_runs",
        "retention",
        "connection_timer",
        "project_event",
        "project_gone",
        "run_now_requested",
        "connection_event",
        "connection_set_event",
        "cronjob_event",
        "job_event",
        "run_event",
    }
)
"""Timers and event handlers that run for every object every few seconds or on every
watch event: with a thousand projects their "succeeded" lines were hundreds a second."""


def quiet_routine_successes(record: logging.LogRecord) -> bool:
    """Drop INFO "succeeded" lines of routine handlers unless debug logging is on;
    failures, retries and every reconcile's outcome are still logged."""
    if record.levelno != logging.INFO or logging.getLogger().isEnabledFor(logging.DEBUG):
        return True
    match = ROUTINE_SUCCESS.match(record.getMessage())
    return not (match and match.group(2) in ROUTINE_HANDLERS)
