"""Serve the Recorder's metrics on /metrics from the operator process."""

from __future__ import annotations

import logging
from typing import Any

import kopf
from prometheus_client import start_http_server

from syncline.controllers.settings import current
from syncline.observability.metrics import RECORDER

logger = logging.getLogger(__name__)


@kopf.on.startup()
def serve_metrics(**_: Any) -> None:
    """Start the HTTP exposition (in a daemon thread) unless it is disabled."""
    address = current().metrics_address
    if not address:
        return
    host, _colon, port = address.rpartition(":")
    start_http_server(int(port), addr=host or "0.0.0.0", registry=RECORDER.registry)  # noqa: S104
    logger.info("metrics on http://%s/metrics", address)
