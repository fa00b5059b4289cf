"""IntegrationTemplate and ClusterIntegrationTemplate: well-formed tasks, counted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import kopf
from pydantic import ValidationError

from syncline.api.base import GROUP, VERSION
from syncline.api.task import Task
from syncline.api.template import IntegrationTemplateSpec
from syncline.controllers import kube
from syncline.controllers.dependencies import request_reconcile
from syncline.controllers.publish import publish
from syncline.controllers.status import Verdict, failed, succeeded
from syncline.errors import SynclineError
from syncline.observability.metrics import timed


def task_shape_errors(tasks: Sequence[Task]) -> list[SynclineError]:
    """Problems visible without any catalog: repeated task names or destination fields."""
    errors = [
        SynclineError("TaskNameDuplicate", task=name)
        for name, n in Counter(t.name for t in tasks).items()
        if n > 1
    ]
    for task in tasks:
        repeated = Counter(m.destination for m in task.mappings)
        errors += [
            SynclineError("MappingDestinationDuplicate", task=task.name, field=field)
            for field, n in repeated.items()
            if n > 1
        ]
    return errors


def assess_template(spec: IntegrationTemplateSpec) -> Verdict:
    errors = task_shape_errors(spec.tasks)
    if errors:
        return failed(errors)
    return succeeded("Valid", f"{len(spec.tasks)} tasks defined.")


@timed("IntegrationTemplate")
def reconcile_template(
    kind: kube.Kind, body: Mapping[str, Any], indexes: Mapping[str, Any]
) -> None:
    """Validate, publish, and let projects built on this template re-check their tasks."""
    meta = body["metadata"]
    fields: dict[str, Any] = {"lastValidatedTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    try:
        spec = IntegrationTemplateSpec.model_validate(body.get("spec") or {})
    except ValidationError as err:
        detail = str(err.errors()[0].get("msg"))
        verdict = failed([SynclineError("ParameterInvalid", field="spec.tasks", detail=detail)])
    else:
        verdict = assess_template(spec)
        fields["taskCount"] = len(spec.tasks)
    publish(kind, body, verdict, fields)
    notify_projects(kind, body, indexes, f"{meta.get('generation')}:{verdict.reason}")


def notify_projects(
    kind: kube.Kind, body: Mapping[str, Any], indexes: Mapping[str, Any], what: str
) -> None:
    """Projects built on this template re-check their merged tasks."""
    meta = body["metadata"]
    home = meta.get("namespace") or ""
    users = indexes["projects_by_template"].get((kind.kind, home, meta["name"]), [])
    for namespace, project in sorted(set(users)):
        request_reconcile(kube.PROJECT, namespace, project, f"{kind.kind}/{meta['name']}@{what}")


@kopf.on.resume(GROUP, VERSION, "integrationtemplates", backoff=5)
@kopf.on.create(GROUP, VERSION, "integrationtemplates", backoff=5)
@kopf.on.update(GROUP, VERSION, "integrationtemplates", backoff=5)
def template_changed(body: kopf.Body, **kwargs: Any) -> None:
    reconcile_template(kube.TEMPLATE, body, kwargs)


@kopf.on.resume(GROUP, VERSION, "clusterintegrationtemplates", backoff=5)
@kopf.on.create(GROUP, VERSION, "clusterintegrationtemplates", backoff=5)
@kopf.on.update(GROUP, VERSION, "clusterintegrationtemplates", backoff=5)
def cluster_template_changed(body: kopf.Body, **kwargs: Any) -> None:
    reconcile_template(kube.CLUSTER_TEMPLATE, body, kwargs)


@kopf.on.event(GROUP, VERSION, "integrationtemplates")
def template_event(event: kopf.RawEvent, body: kopf.Body, **kwargs: Any) -> None:
    """A deleted template leaves its projects without tasks: they must say so."""
    if event.get("type") == "DELETED":
        notify_projects(kube.TEMPLATE, body, kwargs, f"deleted:{body['metadata'].get('uid')}")


@kopf.on.event(GROUP, VERSION, "clusterintegrationtemplates")
def cluster_template_event(event: kopf.RawEvent, body: kopf.Body, **kwargs: Any) -> None:
    if event.get("type") == "DELETED":
        notify_projects(
            kube.CLUSTER_TEMPLATE, body, kwargs, f"deleted:{body['metadata'].get('uid')}"
        )
