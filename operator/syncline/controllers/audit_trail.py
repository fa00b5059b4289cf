"""The operator's own consequential actions, recorded in the audit log.

CronJobs created and deleted, projects suspended by a guardrail, runs marked failed:
what a user would otherwise have to reconstruct from Events that expire after an hour.
Recording never fails the handler that acted (the action happened either way); a
failure to record is logged, rate-limited, and shows as the chain's next verification.

Records go through one writer thread (group commit): a handler queues its record and
waits; the writer takes everything queued meanwhile and appends it in one ConfigMap
write (``audit.append_many``). With a thousand projects reconciling at once that is one
write per batch instead of a read-modify-write per record, each contending with the
next for the same ConfigMap.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from syncline import audit
from syncline.audit.identity import whoami
from syncline.controllers import kube
from syncline.errors import SynclineError

logger = logging.getLogger(__name__)
_identity: list[str] = []
_lock = threading.Lock()
_last_warning = [0.0]
WARNING_INTERVAL_SECONDS = 60.0
MAX_BATCH = 250
"""Records per batch at most (a file holds 1,000 by default; a batch may span a seal)."""
WAIT_SECONDS = 60.0
"""How long a handler waits for its record to be written before going on without it:
the record stays queued and is still written, in order, when the API server answers."""


@dataclass(slots=True)
class _Pending:
    entry: audit.Entry
    done: threading.Event = field(default_factory=threading.Event)
    error: Exception | None = None


_queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
_writer: list[threading.Thread] = []


def operator_identity(api: client.ApiClient) -> str:
    """Who the operator is to the API server (its ServiceAccount in a pod), asked once."""
    with _lock:
        if not _identity:
            _identity.append(whoami(api) or "syncline-operator")
        return _identity[0]


def record(
    action: str,
    target: str,
    result: str = "Success",
    details: Mapping[str, Any] | None = None,
) -> None:
    """Append a record as the operator; log (at most once a minute) when that fails.

    Returns once the record is in the audit ConfigMap (the same promise as a direct
    append: a handler that acted and returned has its record durable), or when writing
    it failed (logged), or after :data:`WAIT_SECONDS` with the record still queued.
    Records are appended in the order their handlers called this.
    """
    actor = operator_identity(kube.api_client())
    pending = _Pending(audit.Entry(actor, action, target, result, details))
    _start_writer()
    _queue.put(pending)
    if not pending.done.wait(WAIT_SECONDS):
        logger.warning("audit record %s %s still queued after %.0f s", action, target, WAIT_SECONDS)
    elif pending.error is not None:
        _warn(action, target, pending.error)


def flush() -> None:
    """Wait until every record queued before this call is written (or failed)."""
    marker = _Pending(audit.Entry("", "", ""))
    if _writer and _writer[0].is_alive():
        _queue.put(marker)
        marker.done.wait(WAIT_SECONDS)


def _start_writer() -> None:
    with _lock:
        if not _writer or not _writer[0].is_alive():
            _writer[:] = [threading.Thread(target=_write_forever, name="audit-writer", daemon=True)]
            _writer[0].start()


def _write_forever() -> None:
    while True:
        batch = [_queue.get()]
        while len(batch) < MAX_BATCH:
            try:
                batch.append(_queue.get_nowait())
            except queue.Empty:
                break
        _write(batch)


def _write(batch: list[_Pending]) -> None:
    """Append the batch (flush markers have no action and are not written)."""
    records = [p for p in batch if p.entry.action]
    try:
        audit.append_many(kube.api_client(), [p.entry for p in records])
    except (SynclineError, ApiException, OSError) as err:
        for pending in records:
            pending.error = err
    except Exception as err:  # the writer must outlive any one batch
        logger.exception("audit batch of %d records not written", len(records))
        for pending in records:
            pending.error = err
    for pending in batch:
        pending.done.set()


def _warn(action: str, target: str, err: Exception) -> None:
    now = time.monotonic()
    if now - _last_warning[0] >= WARNING_INTERVAL_SECONDS:
        _last_warning[0] = now
        why = str(err) if isinstance(err, SynclineError) else type(err).__name__
        status = getattr(err, "status", None)
        logger.warning("audit record %s %s not written: %s %s", action, target, why, status)


def failure(error: SynclineError) -> str:
    """The ``result`` of a record for a failure: the catalog code and name."""
    return f"{error.code} {error.name}"
