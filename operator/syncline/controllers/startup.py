"""The operator as kopf sees it: importing this module registers every handler.

kopf's own bookkeeping goes into annotations under kopf.syncline.dev (never into status,
which the structural schemas prune), handlers retry quickly on API hiccups, and only
events we post explicitly become Kubernetes Events (log lines do not).

Why a subdomain and not syncline.dev itself: kopf leaves every annotation under its
storage prefix out of the object's "essence", so with the bare domain a change of
``syncline.dev/refresh`` or ``syncline.dev/upstream-change`` would never trigger a handler.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from typing import Any

import aiohttp
import kopf

from syncline.api.base import GROUP
from syncline.controllers import (  # noqa: F401 - imported to register their handlers
    connection,
    connectionset,
    dependencies,
    drift,
    housekeeping,
    metrics_endpoint,
    next_run,
    project,
    requests,
    retention,
    runs,
    scheduler,
    template,
)
from syncline.controllers.settings import current

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
    # A worker whose object is quiet for a second ends (kopf: 5 s), with the bodies it
    # held. NOT settings.queueing.worker_limit: at startup every listed object's worker
    # waits until all objects are indexed, so with more objects than the limit the
    # operator never handles anything (seen with 1,000 projects; bench/RESULTS.md).
    settings.queueing.idle_timeout = 1.0
    settings.watching.server_timeout = 300
    settings.networking.error_backoffs = [1, 2, 5, 10]
    logging.getLogger("kopf.objects").addFilter(quiet_routine_successes)


@kopf.on.startup()
async def share_thread_pool(settings: kopf.OperatorSettings, **_: Any) -> None:
    """Async handlers hand their API work to threads with ``asyncio.to_thread``; make
    that kopf's pool of 16 (asyncio's default has CPUs + 4 threads: 6 on two cores)."""
    asyncio.get_running_loop().set_default_executor(settings.execution.executor)


ROUTINE_SUCCESS = re.compile(r"^(Timer|Handler) '([a-z_]+)' succeeded\.$")
ROUTINE_HANDLERS = frozenset(
    {
        "fire_due_runs",
        "track_cron_next_run",
        "track_project",
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


KOPF_CALLS = 24
"""kopf's own requests at once (progress patches, events), beside its watches."""
WATCHES_PER_SCOPE = 12
"""Watch streams kopf keeps per watched namespace (or cluster-wide): one per resource kind
Syncline handles, plus kopf's own; each holds a connection for as long as it runs."""


def connection_limit(namespaces: Sequence[str]) -> int:
    """Connections kopf may open: its watches, and :data:`KOPF_CALLS` more for calls.

    kopf's default is no limit, and every object's worker patches on its own: with a
    thousand projects applied at once it held ~200 TLS connections, each with a 128 KiB
    read buffer (25 MiB at 300 projects) and a handshake of CPU. A glob pattern watches
    namespaces that cannot be counted here, so it keeps kopf's unbounded default (0)."""
    if any(ch in n for n in namespaces for ch in "*?[!,"):
        return 0
    return WATCHES_PER_SCOPE * max(len(namespaces), 1) + KOPF_CALLS


@kopf.on.login()
async def login(**kwargs: Any) -> kopf.AiohttpSession | None:
    """kopf's usual credentials (the kubernetes client's: in-cluster or kubeconfig), in a
    session whose connection pool is bounded by :func:`connection_limit`."""
    info = kopf.login_via_client(**kwargs)
    if info is None:
        return None
    connector = aiohttp.TCPConnector(
        limit=connection_limit(current().namespaces), ssl=info.as_ssl_context()
    )
    session = aiohttp.ClientSession(
        connector=connector,
        headers=info.as_http_headers(),
        proxy=info.proxy_url,
        trust_env=info.trust_env,
    )
    return kopf.AiohttpSession(
        server=info.server,
        priority=info.priority,
        default_namespace=info.default_namespace,
        expiration=info.expiration,
        aiohttp_session=session,
    )
