"""Pure builders of the CronJob that runs a project, and of Jobs started from it.

Spec in, manifest dict out: nothing here talks to the API server, so every field the
cluster will see is asserted by plain unit tests. The controllers server-side apply the
result; because the manifest is fully determined by its inputs, applying it again is a
no-op and a hand edit of any field listed here is reverted on the next apply.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from syncline.api.base import API_VERSION
from syncline.api.connection import credential_env_var
from syncline.api.project import IntegrationProjectSpec
from syncline.api.run import Trigger
from syncline.scheduling.scale_out import PARTITIONS_ENV, indexed_job_fields, split_pods
from syncline.scheduling.schedule import EffectiveSchedule

PROJECT_LABEL = "syncline.dev/project"
TRIGGER_LABEL = "syncline.dev/trigger"
PROJECT_NAME_ANNOTATION = "syncline.dev/project-name"
MANAGED_BY = {"app.kubernetes.io/managed-by": "syncline", "app.kubernetes.io/name": "syncline-run"}
ENGINE_CONTAINER = "engine"
ENGINE_UID = 65532
KILLED_EXIT_CODE = 137  # 128 + SIGKILL: the OOM killer, or the kubelet stopping the pod
"""The conventional "nonroot" user of distroless images; any non-zero id satisfies PSS."""
MANUAL_ONLY_CRON = "0 0 1 1 *"
"""Placeholder schedule of a manual-only project's CronJob, which is always suspended."""
MAX_CRONJOB_NAME = 52
"""CronJob names are capped at 52 characters: the controller appends an 11-character suffix."""
MAX_LABEL_VALUE = 63
FULL_REFRESH_ENV = "SYNCLINE_FULL_REFRESH"
"""Set to "true" on a Job's engine: ignore incremental watermarks and read everything."""
SCRATCH_DIR = "/tmp"  # noqa: S108 - a per-pod emptyDir, the only writable path in the pod


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Operator settings that shape every run pod."""

    image: str
    service_account: str
    image_pull_policy: str = "IfNotPresent"
    starting_deadline_seconds: int = 300
    ttl_seconds_after_finished: int = 86_400
    successful_jobs_history_limit: int = 3
    failed_jobs_history_limit: int = 3
    memory: str = "1Gi"
    cpu_request: str = "100m"


@dataclass(frozen=True, slots=True)
class CredentialSource:
    """One set member whose Secret keys become the engine's environment."""

    alias: str
    secret_name: str
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ProjectIdentity:
    """What the CronJob needs to know about its owner."""

    name: str
    namespace: str
    uid: str


def bounded_name(name: str, limit: int) -> str:
    """``name`` itself when short enough, else a prefix plus a stable hash (still unique)."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('-.')}-{digest}"


def cronjob_name(project_name: str) -> str:
    """The CronJob's name: the project's, so a restarted operator finds the same object."""
    return bounded_name(project_name, MAX_CRONJOB_NAME)


def project_labels(project_name: str) -> dict[str, str]:
    """Labels on everything a project owns; the operator selects its CronJobs by them."""
    return {**MANAGED_BY, PROJECT_LABEL: bounded_name(project_name, MAX_LABEL_VALUE)}


def build_cronjob(
    project: ProjectIdentity,
    spec: IntegrationProjectSpec,
    schedule: EffectiveSchedule | None,
    credentials: Sequence[CredentialSource],
    engine: EngineSettings,
    *,
    suspend: bool = False,
) -> dict[str, Any]:
    """The CronJob of a project. ``schedule`` None means manual runs only (suspended);
    ``suspend`` holds the schedule for a reason outside the spec (a tripped guardrail).
    A schedule the operator drives keeps its CronJob suspended, as the Jobs' template."""
    labels = project_labels(project.name)
    suspended = suspend or schedule is None or schedule.driven or spec.suspend
    deadline = (spec.schedule.starting_deadline_seconds if spec.schedule else None) or (
        engine.starting_deadline_seconds
    )
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {
            "name": cronjob_name(project.name),
            "namespace": project.namespace,
            "labels": labels,
            "annotations": {PROJECT_NAME_ANNOTATION: project.name},
            "ownerReferences": [_owner_reference(project)],
        },
        "spec": {
            "schedule": schedule.cron if schedule else MANUAL_ONLY_CRON,
            "timeZone": schedule.time_zone if schedule else "UTC",
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": deadline,
            "suspend": suspended,
            "successfulJobsHistoryLimit": engine.successful_jobs_history_limit,
            "failedJobsHistoryLimit": engine.failed_jobs_history_limit,
            "jobTemplate": {
                "metadata": {"labels": labels},
                "spec": _job_spec(project, spec, credentials, engine, labels),
            },
        },
    }


def _owner_reference(project: ProjectIdentity) -> dict[str, Any]:
    """Controller reference: garbage collection deletes the CronJob with the project."""
    return {
        "apiVersion": API_VERSION,
        "kind": "IntegrationProject",
        "name": project.name,
        "uid": project.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _job_spec(
    project: ProjectIdentity,
    spec: IntegrationProjectSpec,
    credentials: Sequence[CredentialSource],
    engine: EngineSettings,
    labels: dict[str, str],
) -> dict[str, Any]:
    """One attempt per run: a retry is a new run with its own record, never a silent re-pod."""
    memory = spec.limits.memory or engine.memory
    job: dict[str, Any] = {
        "backoffLimit": 0,
        "ttlSecondsAfterFinished": engine.ttl_seconds_after_finished,
        # A SIGKILLed engine (out of memory, or its pod deleted) cannot record its own end;
        # this rule makes the Job's Failed condition say so, and the operator closes the
        # run with 2408 instead of a generic pod failure.
        "podFailurePolicy": {
            "rules": [
                {
                    "action": "FailJob",
                    "onExitCodes": {
                        "containerName": ENGINE_CONTAINER,
                        "operator": "In",
                        "values": [KILLED_EXIT_CODE],
                    },
                }
            ]
        },
        "template": {
            "metadata": {"labels": labels},
            "spec": _pod_spec(project, credentials, engine, memory),
        },
    }
    if spec.limits.timeout_seconds is not None:
        job["activeDeadlineSeconds"] = spec.limits.timeout_seconds
    pods = split_pods(spec)
    if pods is not None:
        del job["backoffLimit"]
        job |= indexed_job_fields(pods, ENGINE_CONTAINER)
        env = job["template"]["spec"]["containers"][0]["env"]
        env.append({"name": PARTITIONS_ENV, "value": str(pods)})
    return job


def _pod_spec(
    project: ProjectIdentity,
    credentials: Sequence[CredentialSource],
    engine: EngineSettings,
    memory: str,
) -> dict[str, Any]:
    """A pod that passes the Pod Security "restricted" profile with a writable /tmp only."""
    return {
        "serviceAccountName": engine.service_account,
        "restartPolicy": "Never",
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": ENGINE_UID,
            "runAsGroup": ENGINE_UID,
            "fsGroup": ENGINE_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": ENGINE_CONTAINER,
                "image": engine.image,
                "imagePullPolicy": engine.image_pull_policy,
                "command": ["syncline", "engine", "run", "--project", project.name],
                "env": _engine_env(credentials),
                # Memory requested = limit: a run is never evicted for what it was promised.
                "resources": {
                    "requests": {"cpu": engine.cpu_request, "memory": memory},
                    "limits": {"memory": memory},
                },
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": ENGINE_UID,
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "capabilities": {"drop": ["ALL"]},
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "volumeMounts": [{"name": "scratch", "mountPath": SCRATCH_DIR}],
            }
        ],
        "volumes": [{"name": "scratch", "emptyDir": {}}],
    }


def _engine_env(credentials: Sequence[CredentialSource]) -> list[dict[str, Any]]:
    """Identity from the downward API; credentials only as Secret references, never values."""
    env: list[dict[str, Any]] = [
        _field_env("SYNCLINE_NAMESPACE", "metadata.namespace"),
        _field_env("SYNCLINE_POD_NAME", "metadata.name"),
        _field_env("SYNCLINE_JOB_NAME", "metadata.labels['job-name']"),
        {"name": "SYNCLINE_TRIGGER", "value": Trigger.SCHEDULE.value},
        {"name": "HOME", "value": SCRATCH_DIR},
    ]
    for source in sorted(credentials, key=lambda c: c.alias):
        for key in source.keys:
            env.append(
                {
                    "name": credential_env_var(source.alias, key),
                    "valueFrom": {"secretKeyRef": {"name": source.secret_name, "key": key}},
                }
            )
    return env


def _field_env(name: str, field_path: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": field_path}}}


def build_job_from_cronjob(
    cronjob: dict[str, Any], name: str, trigger: Trigger, *, full_refresh: bool = False
) -> dict[str, Any]:
    """A Job from the CronJob's template, as ``kubectl create job --from=cronjob/...`` does.

    The Job is owned by the CronJob (when it has a uid), so the CronJob controller counts
    it as active and ``concurrencyPolicy: Forbid`` keeps scheduled runs from overlapping it.
    A full refresh is the engine's ``SYNCLINE_FULL_REFRESH`` environment: the one place the
    engine, and the operator recording the Job's run, read it from.
    """
    template = copy.deepcopy(cronjob["spec"]["jobTemplate"])
    metadata = cronjob["metadata"]
    labels = {**template.get("metadata", {}).get("labels", {}), TRIGGER_LABEL: trigger.value}
    spec = template["spec"]
    spec["template"].setdefault("metadata", {})["labels"] = {
        **spec["template"].get("metadata", {}).get("labels", {}),
        TRIGGER_LABEL: trigger.value,
    }
    for container in spec["template"]["spec"]["containers"]:
        for var in container.get("env", []):
            if var["name"] == "SYNCLINE_TRIGGER":
                var["value"] = trigger.value
        if full_refresh and container["name"] == ENGINE_CONTAINER:
            container.setdefault("env", []).append({"name": FULL_REFRESH_ENV, "value": "true"})
    job_meta: dict[str, Any] = {
        "name": name,
        "namespace": metadata.get("namespace"),
        "labels": labels,
        "annotations": {
            **metadata.get("annotations", {}),
            "cronjob.kubernetes.io/instantiate": "manual",
        },
    }
    job_meta.update(owned_by_cronjob(metadata))
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": job_meta, "spec": spec}


def owned_by_cronjob(metadata: dict[str, Any]) -> dict[str, Any]:
    """The ownerReferences that make a Job its CronJob's (deleted with it, counted as its
    active run), when the CronJob's uid is known."""
    if not metadata.get("uid"):
        return {}
    owner = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "name": metadata["name"],
        "uid": metadata["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    return {"ownerReferences": [owner]}


def is_full_refresh(job: dict[str, Any]) -> bool:
    """Whether a Job's engine runs a full refresh (its ``SYNCLINE_FULL_REFRESH``, read as
    the engine's command line reads a flag from the environment)."""
    for container in job["spec"]["template"]["spec"]["containers"]:
        if container["name"] != ENGINE_CONTAINER:
            continue
        for var in container.get("env") or []:
            if var["name"] == FULL_REFRESH_ENV:
                return str(var.get("value", "")).lower() in ("1", "true", "t", "yes", "y", "on")
    return False
