"""Kubernetes Events for transitions; event reasons are the Ready condition's reasons.

Events go through kopf's poster (batched, retried, attached to the object), so they are
only posted from inside the running operator. Messages are condition messages built from
catalog errors, and run results are the IntegrationRun's status message: both were
scrubbed of credential values where the values were known (the Connection controller,
the engine: ``syncline.redaction``), and a run's message never holds row values (row
errors are not posted; their values are only in the rejects store).
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

logger = logging.getLogger(__name__)


def post_run_result(project: Any, run_name: str, result: str, message: str) -> None:
    """An Event on the project for each finished run: Normal when data moved, else Warning."""
    kind = "Normal" if result in ("Completed", "Warning") else "Warning"
    text = f"Run {run_name} ended {result}" + (f": {message}" if message else "")
    try:
        kopf.event(project, type=kind, reason=f"Run{result}", message=text[:1000])
    except LookupError:
        logger.debug("no operator context; event for run %s not posted", run_name)


def announce(body: Any, *, ready: bool, reason: str, message: str) -> None:
    """Post a Normal event for a Ready transition, a Warning for a failure."""
    try:
        kopf.event(body, type="Normal" if ready else "Warning", reason=reason, message=message)
    except LookupError:  # not inside a running operator (e.g. a unit test): nothing to post
        logger.debug("no operator context; event %s not posted", reason)


def warn(body: Any, *, reason: str, message: str) -> None:
    """A Warning Event on ``body`` (a notification that failed or cannot be sent)."""
    try:
        kopf.event(body, type="Warning", reason=reason, message=message[:1000])
    except LookupError:
        logger.debug("no operator context; event %s not posted", reason)
