"""Warning Events about the audit log, on its state ConfigMap in the Syncline namespace.

Posted with the core API rather than kopf's poster: the housekeeping loop runs in its own
thread, outside any handler's context. Messages are catalog messages (no record content).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from syncline.audit.files import STATE_NAME
from syncline.kube import plain

logger = logging.getLogger(__name__)


def warn_audit(api: client.ApiClient, namespace: str, reason: str, message: str) -> None:
    """A Warning Event; failing to post it is logged, never raised."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    event = {
        "metadata": {"generateName": "syncline-audit-", "namespace": namespace},
        "involvedObject": {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "name": STATE_NAME,
            "namespace": namespace,
        },
        "reason": reason,
        "message": message[:1000],
        "type": "Warning",
        "source": {"component": "syncline-operator"},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }
    try:
        plain.create(api, plain.path("v1", "events", namespace), event)
    except ApiException as err:
        logger.warning("event %s not posted: HTTP %s", reason, err.status)
    logger.warning("%s", message)
