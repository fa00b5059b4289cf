"""Preparing one task: open its connectors, read the live schemas, validate, plan the SQL.

Everything that can be known before data moves is checked here, so a run with a
misconfigured task fails before it writes anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pyarrow as pa

from syncline.api.connection import Entity, EntityField
from syncline.api.task import Task, TransformType
from syncline.engine.connectors import open_sink, open_source
from syncline.engine.connectors.base import DEFAULT_BATCH_SIZE, Connector, Sink, Source
from syncline.engine.partitions import KeyRange
from syncline.engine.project import ResolvedConnection, ResolvedProject
from syncline.engine.transform.mapping import MappingContext
from syncline.engine.transform.sql import SqlStep
from syncline.engine.validation import shaped_source, validate_task
from syncline.errors import SynclineError


class TaskInvalidError(Exception):
    """A task failed validation; carries every problem found, first one first."""

    def __init__(self, errors: list[SynclineError]) -> None:
        super().__init__(str(errors[0]))
        self.errors = errors


@dataclass
class TaskPlan:
    """A validated task with open connectors, ready to move batches."""

    task: Task
    source: Source
    sink: Sink
    source_entity: str
    destination_entity: str
    keys: list[str]
    sql: SqlStep | None
    mapping: MappingContext
    batch_size: int
    source_schema: pa.Schema | None = None
    """The Arrow schema the SQL step was planned over (None without a SQL step)."""

    def read(
        self, after: str | None, key_range: KeyRange | None = None
    ) -> Iterator[pa.RecordBatch]:
        """The task's source records past ``after``; only those in ``key_range`` when
        this pod has a share of a split task."""
        incremental = self.task.source.incremental if self.task.source else None
        cursor_field = incremental.cursor_field if incremental else None
        if key_range is not None:
            return self.source.read_range(
                self.source_entity,
                key_range,
                batch_size=self.batch_size,
                cursor_field=cursor_field,
                after=after,
            )
        return self.source.read(
            self.source_entity, batch_size=self.batch_size, cursor_field=cursor_field, after=after
        )

    def close(self) -> None:
        """Close connectors (a file sink publishes its output here)."""
        if self.sql:
            self.sql.close()
        self.source.close()
        self.sink.close()


def _member(project: ResolvedProject, alias: str, field: str) -> ResolvedConnection:
    member = project.connections.get(alias)
    if member is None:
        raise SynclineError(
            "ConnectionNotInSet", field=field, connection=alias, connection_set=project.name
        )
    return member


def prepare_task(project: ResolvedProject, task: Task, *, dry_run: bool = False) -> TaskPlan:
    """Open, describe and validate; raises TaskInvalidError or SynclineError, writing nothing."""
    if task.source is None or task.destination is None:
        field = "source" if task.source is None else "destination"
        raise SynclineError("TaskIncomplete", task=task.name, field=field)
    src = _member(project, task.source.connection, "source.connection")
    dst = _member(project, task.destination.connection, "destination.connection")
    opened: list[Connector | SqlStep] = []  # closed again if planning fails
    try:
        source = open_source(
            src.spec, src.credentials, timeout_seconds=src.spec.options.connect_timeout_seconds
        )
        opened.append(source)
        sink = open_sink(
            dst.spec, dst.credentials, timeout_seconds=dst.spec.options.connect_timeout_seconds
        )
        opened.append(sink)
        if dry_run:
            sink.rollback_only()
        sql = SqlStep(task.name, task.query) if task.query else None
        if sql is not None:
            opened.append(sql)  # its DuckDB and its spill directory
        return _plan(project, task, source, sink, src, dst, sql)
    except BaseException:
        for connector in opened:
            if isinstance(connector, Sink):
                connector.rollback_only()  # a failed plan publishes nothing
            connector.close()
        raise


def _plan(
    project: ResolvedProject,
    task: Task,
    source: Source,
    sink: Sink,
    src: ResolvedConnection,
    dst: ResolvedConnection,
    sql: SqlStep | None,
) -> TaskPlan:
    assert task.source is not None
    assert task.destination is not None
    raw = source.describe(task.source.entity)
    destination = _destination(sink, task, lambda: shaped_source(task, raw, src.spec.type))
    keys = project.keys_for(task)
    errors = validate_task(task, raw, destination, keys, source_type=src.spec.type)
    errors += _org_unit_problems(project, task)
    if not errors and sink.capabilities.needs_unique_index:
        errors += _unique_index_problems(task, destination, keys)
    if errors:
        raise TaskInvalidError(errors)
    source_schema = None
    if sql is not None:  # the run's plan, over the schema the batches will really have
        source_schema = source.arrow_schema(task.source.entity)
        sql.output_schema(source_schema)
    exists = any(destination.fields) and sink.capabilities.needs_unique_index
    mapping = MappingContext(
        task=task,
        keys=keys,
        destination_fields=frozenset(f.name for f in destination.fields) if exists else None,
        org_units=project.org_units,
        source_alias=src.alias,
        destination_alias=dst.alias,
    )
    batch_size = src.spec.options.batch_size or DEFAULT_BATCH_SIZE
    return TaskPlan(
        task,
        source,
        sink,
        task.source.entity,
        task.destination.entity,
        keys,
        sql,
        mapping,
        batch_size,
        source_schema,
    )


def _destination(sink: Sink, task: Task, shaped: Callable[[], Entity]) -> Entity:
    """The live destination entity; a file sink may create it, shaped like the output."""
    assert task.destination is not None
    try:
        return sink.describe(task.destination.entity)
    except SynclineError as err:
        if err.code != 2004 or sink.capabilities.needs_unique_index:
            raise
    names = [m.destination for m in task.mappings] or [f.name for f in shaped().fields]
    return Entity(
        name=task.destination.entity, fields=[EntityField(name=n, type="any") for n in names]
    )


def _unique_index_problems(task: Task, destination: Entity, keys: list[str]) -> list[SynclineError]:
    if any(set(u) == set(keys) for u in destination.unique_keys):
        return []
    return [
        SynclineError(
            "NoUniqueIndexOnKeys", task=task.name, entity=destination.name, keys=", ".join(keys)
        )
    ]


def _org_unit_problems(project: ResolvedProject, task: Task) -> list[SynclineError]:
    assert task.destination is not None
    units = project.org_units or {}
    return [
        SynclineError("RequiredOrganizationUnit", field=m.destination)
        for m in task.mappings
        if any(t.type is TransformType.ORG_UNIT for t in m.transforms)
        and task.destination.connection not in units
    ]
