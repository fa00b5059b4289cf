"""Changes made through the API go to the audit log (10B's ``syncline.audit.append``)."""

from __future__ import annotations

import logging
from typing import Any

from kubernetes import client

from syncline import audit
from syncline.errors import SynclineError
from syncline.rest.auth import Caller
from syncline.rest.deps import AuditHook

log = logging.getLogger(__name__)


def audit_hook(api: client.ApiClient, namespace: str | None = None) -> AuditHook:
    """Append one record per change, as the authenticated user.

    The change has already happened when this runs; a record that cannot be written
    (2706 contended, 2707 no key, API server down) is logged as an error naming the
    action and target, rather than undoing a change the cluster already made.
    """

    def record(caller: Caller, action: str, target: str, result: str, details: Any) -> None:
        try:
            audit.append(api, caller.username, action, target, result, details, namespace=namespace)
        except (SynclineError, client.ApiException) as err:
            log.error(
                "audit record not written",
                extra={"action": action, "target": target, "error": type(err).__name__},
            )

    return record
