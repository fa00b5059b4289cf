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
from typing import Any

import kopf

from syncline.api.base import GROUP
from syncline.controllers import (  # noqa: F401 - imported to register their handlers
    connection,
    connectionset,
    dependencies,
    drift,
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
    settings.execution.max_workers = 8
    settings.watching.server_timeout = 300
    settings.networking.error_backoffs = [1, 2, 5, 10]
