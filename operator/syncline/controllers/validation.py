"""Everything a project must get right before any data moves, checked against catalogs.

Pure: the caller fetches the ConnectionSet, the template and the member Connections;
this module turns them into a list of catalog errors (each naming task and field), the
effective tasks and the effective schedule. An empty error list means the CronJob may run.

Each task goes through the engine's own validator (``engine.validation.validate_task``)
with the inputs the engine gives it at run start: the source entity as stored, the
destination entity, the keys and the source's type, so a column a SQL step derives is
accepted here exactly when a run accepts it. An entity beyond a truncated catalog is
described live through the caller's ``describe`` (the only step that is not pure, and
injected); when that cannot be done, the run start checks it and Ready says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from syncline.api.connection import (
    ConnectionSpec,
    ConnectionType,
    Entity,
    required_secret_keys,
)
from syncline.api.connectionset import ConnectionSetSpec
from syncline.api.merge import effective_tasks
from syncline.api.project import IntegrationProjectSpec
from syncline.api.task import Task, TransformType
from syncline.api.template import IntegrationTemplateSpec
from syncline.controllers.catalogs import Catalog
from syncline.controllers.status import is_ready, ready_condition
from syncline.controllers.template import task_shape_errors
from syncline.engine.validation import scale_out_errors, validate_task
from syncline.errors import SynclineError
from syncline.scheduling.cronjob import CredentialSource
from syncline.scheduling.schedule import EffectiveSchedule, resolve_schedules

Obj = Mapping[str, Any]
EntityLookup = Callable[[Obj, str], Entity]
"""Describes one entity of a Connection (object, entity name) live; raises SynclineError."""


@dataclass(frozen=True, slots=True)
class ProjectInputs:
    """The project and what it references, as read from the API server (None = absent)."""

    name: str
    spec: IntegrationProjectSpec
    connection_set: Obj | None
    template: Obj | None
    connections: Mapping[str, Obj | None] = field(default_factory=dict)
    """Member Connections by alias."""
    describe: EntityLookup | None = None
    """Asks the system for an entity its Connection's truncated catalog does not list;
    None: such an entity is left to the run start (and Ready says so)."""


@dataclass(slots=True)
class ProjectPlan:
    """The outcome of validation: errors, or what the CronJob needs."""

    errors: list[SynclineError] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    schedule: EffectiveSchedule | None = None
    credentials: list[CredentialSource] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What was not checked here and why (for Ready's message; nothing blocking)."""


def plan_project(inputs: ProjectInputs) -> ProjectPlan:
    """Run every check; collect all errors so users fix them in one round."""
    plan = ProjectPlan()
    set_spec = _connection_set(inputs, plan.errors)
    template = _template(inputs, plan.errors)
    plan.tasks = effective_tasks(inputs.spec, template.tasks if template else [])
    plan.errors += _task_errors(inputs.name, plan.tasks)
    if set_spec is not None:
        if template is not None:
            plan.errors += _template_type_errors(inputs, template, plan.tasks)
        plan.errors += _organization_errors(inputs.spec, set_spec, plan.tasks)
        plan.errors += _catalog_errors(inputs, set_spec, plan.tasks, plan.notes)
        plan.credentials = credential_sources(set_spec, inputs.connections)
    try:
        plan.schedule = resolve_schedules(inputs.spec.named_schedules())
    except SynclineError as err:
        plan.errors.append(err)
    return plan


def _connection_set(inputs: ProjectInputs, errors: list[SynclineError]) -> ConnectionSetSpec | None:
    """The set's spec when it exists and is Ready (2007 otherwise)."""
    ref = inputs.spec.connection_set_ref.name
    if inputs.connection_set is None:
        detail = "it does not exist (spec.connectionSetRef.name)"
        errors.append(SynclineError("ConnectionSetNotReady", name=ref, detail=detail))
        return None
    if not is_ready(inputs.connection_set):
        ready = ready_condition((inputs.connection_set.get("status") or {}).get("conditions"))
        detail = (ready or {}).get("message") or "not checked yet"
        errors.append(SynclineError("ConnectionSetNotReady", name=ref, detail=detail))
        return None
    return ConnectionSetSpec.model_validate(inputs.connection_set.get("spec") or {})


def _template(inputs: ProjectInputs, errors: list[SynclineError]) -> IntegrationTemplateSpec | None:
    ref = inputs.spec.template_ref
    if ref is None:
        return None
    if inputs.template is None:
        errors.append(SynclineError("TemplateNotFound", kind=ref.kind, name=ref.name))
        return None
    try:
        return IntegrationTemplateSpec.model_validate(inputs.template.get("spec") or {})
    except ValidationError as err:
        detail = f"template {ref.name}: {err.errors()[0].get('msg')}"
        errors.append(SynclineError("ParameterInvalid", field="spec.templateRef", detail=detail))
        return None


def _template_type_errors(
    inputs: ProjectInputs, template: IntegrationTemplateSpec, tasks: Sequence[Task]
) -> list[SynclineError]:
    """The template's sourceType/destinationType hold for the project's set (2213): each
    task taken from the template reads from a connection of sourceType and writes to one
    of destinationType; a template none of whose tasks is used still needs a member of
    each type. Aliases the set lacks are reported elsewhere (2008)."""
    ref = inputs.spec.template_ref
    assert ref is not None
    types = {
        alias: str((obj.get("spec") or {}).get("type"))
        for alias, obj in inputs.connections.items()
        if obj is not None
    }
    from_template = {t.name for t in template.tasks}
    used = [t for t in tasks if t.name in from_template]
    errors: list[SynclineError] = []
    for part, wanted in (
        ("source", template.source_type),
        ("destination", template.destination_type),
    ):
        if wanted is None:
            continue
        mismatch = {"kind": ref.kind, "name": ref.name, "expected": wanted.value, "part": part}
        if not used and types and wanted.value not in types.values():
            detail = f"ConnectionSet {inputs.spec.connection_set_ref.name} has none"
            errors.append(SynclineError("TemplateTypeMismatch", **mismatch, detail=detail))
        for task in used:
            end = getattr(task, part)
            actual = types.get(end.connection) if end is not None else None
            if actual is not None and actual != wanted.value:
                verb = "reads from" if part == "source" else "writes to"
                detail = f"task {task.name} {verb} {end.connection}, a {actual} connection"
                errors.append(SynclineError("TemplateTypeMismatch", **mismatch, detail=detail))
    return errors


def _task_errors(project: str, tasks: Sequence[Task]) -> list[SynclineError]:
    if not tasks:
        return [SynclineError("NoTasks", name=project)]
    errors = task_shape_errors(tasks) + scale_out_errors(tasks)
    for task in tasks:
        for part in ("source", "destination"):
            if getattr(task, part) is None:
                errors.append(SynclineError("TaskIncomplete", task=task.name, field=part))
    return errors


def _organization_errors(
    spec: IntegrationProjectSpec, set_spec: ConnectionSetSpec, tasks: list[Task]
) -> list[SynclineError]:
    """The chosen mapping exists in the set; orgUnit transforms have one to use (1100/1101)."""
    known = {m.name for m in set_spec.organization_mappings}
    if spec.organization_mapping is not None and spec.organization_mapping not in known:
        return [
            SynclineError(
                "InvalidOrganizationUnit",
                name=spec.organization_mapping,
                connection_set=spec.connection_set_ref.name,
            )
        ]
    if spec.organization_mapping is not None:
        return []
    return [
        SynclineError("RequiredOrganizationUnit", field=f"{t.name}.{m.destination}")
        for t in tasks
        for m in t.mappings
        if any(x.type is TransformType.ORG_UNIT for x in m.transforms)
    ]


def _catalog_errors(
    inputs: ProjectInputs, set_spec: ConnectionSetSpec, tasks: Sequence[Task], notes: list[str]
) -> list[SynclineError]:
    """Aliases, entities and fields of every task against the member catalogs."""
    set_name = inputs.spec.connection_set_ref.name
    errors: list[SynclineError] = []
    # A member deleted a moment ago while the set still reads Ready: that may come back
    # (2006, transient), and its empty catalog must not be reported as missing tables.
    gone = sorted(alias for alias, obj in inputs.connections.items() if obj is None)
    for alias in gone:
        errors.append(SynclineError("ConnectionNotReady", name=alias, detail="it does not exist"))
    entities = _Entities(inputs, notes)
    for task in tasks:
        if task.source is None or task.destination is None:
            continue  # already reported as TaskIncomplete
        ends = []
        for part, end in (("source", task.source), ("destination", task.destination)):
            if end.connection in gone:
                continue
            if end.connection not in entities.catalogs:
                errors.append(
                    SynclineError(
                        "ConnectionNotInSet",
                        field=f"task {task.name}: {part}.connection",
                        connection=end.connection,
                        connection_set=set_name,
                    )
                )
                continue
            found = entities.get(end.connection, end.entity)
            if isinstance(found, SynclineError):
                errors.append(found)
            elif found is not None:
                ends.append(found)
        if len(ends) == 2:
            keys = task.destination.keys or _set_keys(set_spec, task)
            source_type = entities.type_of(task.source.connection)
            errors += validate_task(task, ends[0], ends[1], keys, source_type=source_type)
    return errors


class _Entities:
    """Entities by alias: from the catalogs in status, else (beyond a truncated catalog)
    described live once per reconcile, else unknown until the run start."""

    def __init__(self, inputs: ProjectInputs, notes: list[str]) -> None:
        self.inputs = inputs
        self.notes = notes
        self.catalogs = {a: Catalog(o) for a, o in inputs.connections.items() if o is not None}
        self._described: dict[tuple[str, str], Entity | SynclineError | None] = {}

    def type_of(self, alias: str) -> ConnectionType:
        spec = (self.inputs.connections[alias] or {}).get("spec") or {}
        return ConnectionSpec.model_validate(spec).type

    def get(self, alias: str, name: str) -> Entity | SynclineError | None:
        """The entity; 2004 when it certainly does not exist; None when nobody can tell."""
        catalog = self.catalogs[alias]
        entity = catalog.get(name)
        if entity is not None:
            return entity
        if catalog.knows_missing(name):
            return SynclineError("EntityNotFound", entity=name, connection=alias)
        if (alias, name) not in self._described:
            self._described[alias, name] = self._describe(alias, name)
        return self._described[alias, name]

    def _describe(self, alias: str, name: str) -> Entity | SynclineError | None:
        beyond = f"Entity {name} of {alias} is beyond its Connection's truncated catalog"
        connection = self.inputs.connections[alias]
        if self.inputs.describe is None or connection is None:
            self.notes.append(f"{beyond}; it is checked when a run starts.")
            return None
        try:
            return self.inputs.describe(connection, name)
        except SynclineError as err:
            if err.code == 2004:
                return SynclineError("EntityNotFound", entity=name, connection=alias)
            self.notes.append(
                f"{beyond} and could not be described ({err}); it is checked when a run starts."
            )
            return None


def _set_keys(set_spec: ConnectionSetSpec, task: Task) -> list[str]:
    """The ConnectionSet's default integration keys for the task's destination entity."""
    assert task.destination is not None
    for key in set_spec.integration_keys:
        if (key.connection, key.entity) == (task.destination.connection, task.destination.entity):
            return list(key.fields)
    return []


def credential_sources(
    set_spec: ConnectionSetSpec, connections: Mapping[str, Obj | None]
) -> list[CredentialSource]:
    """Which Secret keys each member's engine environment gets (secretKeyRef, never values)."""
    sources: list[CredentialSource] = []
    for member in set_spec.connections:
        obj = connections.get(member.name)
        if obj is None:
            continue
        spec = ConnectionSpec.model_validate(obj.get("spec") or {})
        keys = required_secret_keys(spec)
        if spec.credentials is not None and keys:
            sources.append(
                CredentialSource(member.name, spec.credentials.secret_ref.name, tuple(keys))
            )
    return sources
