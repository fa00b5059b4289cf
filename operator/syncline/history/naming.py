"""Names and labels that tie a Job, its IntegrationRun and its project together.

A run is named after its Job. The CronJob controller names scheduled Jobs
``<cronjob>-<minute>``, and manual Jobs get a name derived from their token, so
creating the IntegrationRun with the Job's name is idempotent: a second attempt
(operator restart, engine and operator racing, a Job created twice) hits
AlreadyExists instead of producing a duplicate run. A run requested by creating an
IntegrationRun goes the other way: its Job takes the run's name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

PROJECT_LABEL = "syncline.dev/project"
TRIGGER_LABEL = "syncline.dev/trigger"
RUN_NOW_ANNOTATION = "syncline.dev/run-now"
"""On a project: each new value (a token) starts one run."""
FULL_REFRESH_ANNOTATION = "syncline.dev/full-refresh"
"""On a project: each new value (a token) starts one full-refresh run."""

_MAX_NAME = 63


def run_name_for_job(job_name: str) -> str:
    """The IntegrationRun of a Job has the Job's name."""
    return job_name


def manual_job_name(project: str, token: str) -> str:
    """A stable Job name for a manual run: the same token never starts two runs."""
    digest = hashlib.sha256(f"{project}\0{token}".encode()).hexdigest()[:8]
    prefix = project[: _MAX_NAME - len("-manual-") - len(digest)].rstrip("-")
    return f"{prefix}-manual-{digest}"


def log_config_map_name(run_name: str) -> str:
    """Where a run's full log is kept (a ConfigMap owned by the run)."""
    return f"{run_name[: _MAX_NAME - 4].rstrip('-')}-log"


RUN_LOG_KEY = "run.log"
"""The key of a run's log in its ConfigMap (each pod of a split task adds its own)."""


def pod_log_key(index: int, attempt: str) -> str:
    """Where attempt ``attempt`` (its pod name) of pod ``index`` of a split task keeps
    its log, beside the others: a retry does not overwrite the attempt before it."""
    return f"pod-{index}.{attempt}.log"


def run_log(data: Mapping[str, str]) -> str:
    """A run's whole log from its ConfigMap's data: the run's own, then each pod's of a
    split task, in pod order."""
    pods = sorted((k for k in data if k.startswith("pod-")), key=lambda k: (_pod_number(k), k))
    return "".join(data[k] for k in [RUN_LOG_KEY, *pods] if k in data)


def _pod_number(key: str) -> int:
    digits = key.removeprefix("pod-").split(".", 1)[0]
    return int(digits) if digits.isdigit() else 0


def effective_trigger(label: str | None, last_result: str | None) -> str:
    """What started a run: the Job's trigger label, else the schedule.

    A scheduled run after a run that ended in Error is the seed's automatic retry,
    recorded as ``retry`` so the history shows why it ran.
    """
    if label:
        return label
    return "retry" if last_result == "Error" else "schedule"
