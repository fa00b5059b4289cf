"""ConnectionSet: both members exist and are Ready; mappings and keys name real things."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import kopf
from pydantic import ValidationError

from syncline.api.base import GROUP, VERSION
from syncline.api.connectionset import ConnectionSetSpec
from syncline.controllers import followers, kube, watched
from syncline.controllers.catalogs import Catalog
from syncline.controllers.dependencies import (
    SET_ANNOTATION,
    request_reconcile,
)
from syncline.controllers.publish import publish
from syncline.controllers.status import Verdict, failed, is_ready, ready_condition, succeeded
from syncline.errors import SynclineError
from syncline.observability.metrics import timed


def assess_set(
    name: str, spec: ConnectionSetSpec, members: Mapping[str, Mapping[str, Any] | None]
) -> tuple[Verdict, dict[str, Any]]:
    """Verdict and status fields from the set's spec and its member Connections (by alias)."""
    errors: list[SynclineError] = []
    rows: list[dict[str, Any]] = []
    for i, member in enumerate(spec.connections):
        connection = members.get(member.name)
        ref = member.connection_ref.name
        if connection is None:
            errors.append(_missing(ref, f"spec.connections[{i}].connectionRef.name"))
        elif not is_ready(connection):
            detail = ready_condition((connection.get("status") or {}).get("conditions")) or {}
            errors.append(
                SynclineError(
                    "ConnectionNotReady",
                    name=ref,
                    detail=detail.get("message") or "not checked yet",
                )
            )
        conn_spec = (connection or {}).get("spec") or {}
        rows.append(
            {
                "name": member.name,
                "connection": ref,
                "type": conn_spec.get("type"),
                "environment": conn_spec.get("environment"),
                "ready": is_ready(connection),
            }
        )
    errors += check_mappings(name, spec)
    errors += check_keys(name, spec, members)
    environments = " -> ".join(r["environment"] or "unlabelled" for r in rows)
    fields = {
        "members": [{k: v for k, v in r.items() if v is not None} for r in rows],
        "environments": environments,
    }
    if errors:
        return failed(errors), fields
    return succeeded("ConnectionsReady", f"Both connections are Ready ({environments})."), fields


def _missing(ref: str, field: str) -> SynclineError:
    return SynclineError(
        "ConnectionNotReady", name=ref, detail=f"it does not exist (referenced by {field})"
    )


def check_mappings(name: str, spec: ConnectionSetSpec) -> list[SynclineError]:
    """Organization mappings may only name the set's own aliases."""
    aliases = {m.name for m in spec.connections}
    return [
        SynclineError(
            "ConnectionNotInSet",
            field=f"spec.organizationMappings[{i}].units.{alias}",
            connection=alias,
            connection_set=name,
        )
        for i, mapping in enumerate(spec.organization_mappings)
        for alias in mapping.units
        if alias not in aliases
    ]


def check_keys(
    name: str, spec: ConnectionSetSpec, members: Mapping[str, Mapping[str, Any] | None]
) -> list[SynclineError]:
    """Integration keys name an alias, an entity of its catalog and fields of that entity."""
    errors: list[SynclineError] = []
    for i, key in enumerate(spec.integration_keys):
        where = f"spec.integrationKeys[{i}]"
        if key.connection not in members:
            errors.append(
                SynclineError(
                    "ConnectionNotInSet",
                    field=f"{where}.connection",
                    connection=key.connection,
                    connection_set=name,
                )
            )
            continue
        connection = members[key.connection]
        if not is_ready(connection):
            continue  # reported above; its catalog is not trustworthy yet
        catalog = Catalog(connection)
        entity = catalog.get(key.entity)
        if entity is None:
            if catalog.knows_missing(key.entity):
                errors.append(
                    SynclineError("EntityNotFound", entity=key.entity, connection=key.connection)
                )
            continue
        fields = Catalog.field_names(entity)
        errors += [
            SynclineError(
                "ParameterInvalid",
                field=f"{where}.fields",
                detail=f"{f} is not a field of {key.connection}.{key.entity}",
            )
            for f in key.fields
            if f not in fields
        ]
    return errors


@timed("ConnectionSet")
def reconcile_set(body: Mapping[str, Any]) -> None:
    """Read the members, assess, publish (the projects hear of it from the watch)."""
    meta = body["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    try:
        spec = ConnectionSetSpec.model_validate(body.get("spec") or {})
    except ValidationError as err:
        detail = str(err.errors()[0].get("msg"))
        invalid = SynclineError("ParameterInvalid", field="spec", detail=detail)
        publish(kube.CONNECTION_SET, body, failed([invalid]), {})
        return
    members = {
        m.name: kube.get_object(kube.CONNECTION, namespace, m.connection_ref.name)
        for m in spec.connections
    }
    verdict, fields = assess_set(name, spec, members)
    # What changed reaches the projects from the watch events of the set and of its
    # Connections (followers.py): only those that planned with something else.
    publish(kube.CONNECTION_SET, body, verdict, fields)


def notify_projects(namespace: str, name: str, indexes: Mapping[str, Any], what: str) -> None:
    """Projects using this set re-check it."""
    for project in sorted(set(indexes["projects_by_set"].get((namespace, name), []))):
        cause = f"ConnectionSet/{name}@{what}"
        request_reconcile(kube.PROJECT, namespace, project, cause, SET_ANNOTATION)


@kopf.on.resume(GROUP, VERSION, "connectionsets", backoff=5)
@kopf.on.create(GROUP, VERSION, "connectionsets", backoff=5)
@kopf.on.update(GROUP, VERSION, "connectionsets", backoff=5)
def connection_set_changed(body: kopf.Body, **_: Any) -> None:
    """The set or one of its connections changed."""
    reconcile_set(body)


@kopf.on.event(GROUP, VERSION, "connectionsets")
async def connection_set_event(event: kopf.RawEvent, body: kopf.Body, **kwargs: Any) -> None:
    """Keep the set's copy; nudge the projects that planned with another state of it. A
    deleted set: its projects must stop claiming Ready (and stop running).

    Async: every set event passes here; only a nudge has work (in a thread)."""
    watched.observe(kube.CONNECTION_SET.kind, event, body)
    meta = body["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    followers.changed(namespace)
    if event.get("type") == "DELETED":
        cause = f"deleted:{meta.get('uid')}"
        await asyncio.to_thread(notify_projects, namespace, name, kwargs, cause)
        return
    await followers.nudge(namespace, [name])
