"""The operator's own consequential actions, recorded in the audit log.

CronJobs created and deleted, projects suspended by a guardrail, runs marked failed:
what a user would otherwise have to reconstruct from Events that expire after an hour.
Recording never fails the handler that acted (the action happened either way); a
failure to record is logged, rate-limited, and shows as the chain's next verification.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
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
    """Append a record as the operator; log (at most once a minute) when that fails."""
    api = kube.api_client()
    try:
        audit.append(api, operator_identity(api), action, target, result, details)
    except (SynclineError, ApiException, OSError) as err:
        now = time.monotonic()
        if now - _last_warning[0] >= WARNING_INTERVAL_SECONDS:
            _last_warning[0] = now
            why = str(err) if isinstance(err, SynclineError) else type(err).__name__
            status = getattr(err, "status", None)
            logger.warning("audit record %s %s not written: %s %s", action, target, why, status)


def failure(error: SynclineError) -> str:
    """The ``result`` of a record for a failure: the catalog code and name."""
    return f"{error.code} {error.name}"
