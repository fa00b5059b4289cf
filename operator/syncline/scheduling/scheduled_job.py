"""The Job the operator starts at a fire time of a schedule it drives.

It is what the CronJob controller would have made: the CronJob's job template, owned by
the CronJob (so run-now's overlap rule and garbage collection treat it alike), named
``<cronjob>-<minutes since the epoch>`` like the controller's Jobs. The name follows
from the fire time alone, so creating it twice (an operator restarted between recording
the fire time and creating the Job) hits AlreadyExists instead of starting a second run.
No trigger label: like the controller's Jobs, the run counts as ``schedule`` (or
``retry`` after an Error run).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from syncline.scheduling.cronjob import owned_by_cronjob

SCHEDULED_TIME_ANNOTATION = "syncline.dev/scheduled-time"
"""On the Job: the exact fire time it was started for (RFC 3339, UTC)."""


def scheduled_job_name(cronjob: str, fire_time: datetime) -> str:
    """``<cronjob>-<minutes since the epoch>``; every schedule is at least a minute apart."""
    return f"{cronjob}-{int(fire_time.timestamp()) // 60}"


def build_scheduled_job(cronjob: dict[str, Any], fire_time: datetime) -> dict[str, Any]:
    """The Job for ``fire_time`` from the (suspended) CronJob's template."""
    template = copy.deepcopy(cronjob["spec"]["jobTemplate"])
    metadata = cronjob["metadata"]
    stamp = fire_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    job_meta: dict[str, Any] = {
        "name": scheduled_job_name(metadata["name"], fire_time),
        "namespace": metadata.get("namespace"),
        "labels": dict((template.get("metadata") or {}).get("labels") or {}),
        "annotations": {**(metadata.get("annotations") or {}), SCHEDULED_TIME_ANNOTATION: stamp},
    }
    job_meta.update(owned_by_cronjob(metadata))
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": job_meta, "spec": template["spec"]}
