"""Checks a task against its entities before any data moves: the one validator.

The operator runs it against the catalogs in Connection status, the engine against the
live descriptions, with the same inputs (the source entity as its system stores it, the
destination entity, the keys, the source's connection type) and so the same verdicts.
Pure except for planning the task's SQL step, which happens in a sandboxed DuckDB over
no data (``transform.sql``): the mappings read the query's output, so that is what they
are checked against.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from contextlib import closing

from syncline.api.connection import ConnectionType, Entity, EntityField
from syncline.api.task import ArithmeticOp, Task, Transform, TransformType
from syncline.errors import SynclineError

# The operator validates every project's tasks: Arrow and DuckDB (arrow_types,
# transform.sql) are imported only by the checks that need them, a SQL step or a
# scale-out key, so a plain task does not load them (tests/unit/test_operator_imports.py).


def validate_task(
    task: Task,
    source: Entity,
    destination: Entity,
    keys: list[str],
    *,
    source_type: ConnectionType,
) -> list[SynclineError]:
    """Every problem found (empty when the task can run).

    ``source`` is the entity as stored, where the incremental cursor lives; with a SQL
    step the mappings are checked against the query's output over it (``shaped_source``),
    and a query that cannot be planned is 2206 QueryInvalid, listed first.
    """
    errors: list[SynclineError] = []
    try:
        errors += _source_fields(task, shaped_source(task, source, source_type))
    except SynclineError as err:  # QueryInvalid: its output, and so the mappings, unknown
        errors.append(err)
    errors += _destination_fields(task, destination)
    errors += _keys(task, destination, keys)
    errors += _cursor(task, source)
    errors += _scale_out_key(task, source, source_type)
    errors += _duplicates(task)
    errors += _transforms(task)
    return errors


def shaped_source(task: Task, source: Entity, source_type: ConnectionType) -> Entity:
    """What the mappings read: ``source`` itself, or the columns the task's query outputs
    over a source of that shape (typed as the connector of ``source_type`` reads it).
    Raises 2206 QueryInvalid when the query cannot be planned."""
    if not task.query:
        return source
    from syncline.engine.arrow_types import catalog_schema
    from syncline.engine.transform.sql import SqlStep

    with closing(SqlStep(task.name, task.query)) as step:
        schema = step.output_schema(catalog_schema(source, source_type))
    fields = [EntityField(name=f.name, type=str(f.type), nullable=f.nullable) for f in schema]
    # not validated: the API's field limit is for status, a query may output more columns
    return Entity.model_construct(name=source.name, fields=fields)


def _names(entity: Entity) -> set[str]:
    return {f.name for f in entity.fields}


def _source_fields(task: Task, source: Entity) -> list[SynclineError]:
    known = _names(source)
    missing = dict.fromkeys(f for f in task.field_origins() if f not in known)
    return [
        SynclineError("SourceFieldMissing", task=task.name, field=f, entity=source.name)
        for f in missing
    ]


def _destination_fields(task: Task, destination: Entity) -> list[SynclineError]:
    known = _names(destination)
    return [
        SynclineError(
            "DestinationFieldUnknown",
            task=task.name,
            field=m.destination,
            entity=destination.name,
        )
        for m in task.mappings
        if m.destination not in known
    ]


def _keys(task: Task, destination: Entity, keys: list[str]) -> list[SynclineError]:
    if not keys:
        return [SynclineError("IntegrationKeyMissing", task=task.name, entity=destination.name)]
    known = _names(destination)
    return [
        SynclineError(
            "IntegrationKeyFieldUnknown", task=task.name, field=k, entity=destination.name
        )
        for k in keys
        if k not in known
    ]


def _cursor(task: Task, source: Entity) -> list[SynclineError]:
    incremental = task.source.incremental if task.source else None
    if incremental is None or incremental.cursor_field in _names(source):
        return []
    return [
        SynclineError(
            "CursorFieldMissing",
            task=task.name,
            field=incremental.cursor_field,
            entity=source.name,
        )
    ]


def scale_out_errors(tasks: Sequence[Task]) -> list[SynclineError]:
    """What a task split over pods needs from its project, catalog or not: to be the only
    task (the pods run side by side, while tasks run in order) and to have no SQL step (a
    query over one pod's range would aggregate a part as if it were the whole)."""
    errors: list[SynclineError] = []
    for task in tasks:
        if task.scale_out is None:
            continue
        if len(tasks) > 1:
            detail = f"it must be the project's only task ({len(tasks)} tasks)"
            errors.append(SynclineError("ScaleOutInvalid", task=task.name, detail=detail))
        if task.query is not None:
            detail = "a task with a SQL step (query) runs in one pod"
            errors.append(SynclineError("ScaleOutInvalid", task=task.name, detail=detail))
    return errors


def _scale_out_key(task: Task, source: Entity, source_type: ConnectionType) -> list[SynclineError]:
    if task.scale_out is None:
        return []
    import pyarrow as pa

    from syncline.engine.arrow_types import catalog_schema

    key = task.scale_out.key
    schema = catalog_schema(source, source_type)
    if key not in schema.names:
        detail = f"scaleOut.key {key} is not a field of {source.name}"
    elif not pa.types.is_integer(schema.field(key).type):
        detail = f"scaleOut.key {key} is {schema.field(key).type}, not an integer"
    else:
        return []
    return [SynclineError("ScaleOutInvalid", task=task.name, detail=detail)]


def _duplicates(task: Task) -> list[SynclineError]:
    counts = Counter(m.destination for m in task.mappings)
    return [
        SynclineError("MappingDestinationDuplicate", task=task.name, field=field)
        for field, n in counts.items()
        if n > 1
    ]


def _transforms(task: Task) -> list[SynclineError]:
    errors = []
    for m in task.mappings:
        for t in m.transforms:
            detail = transform_problem(t)
            if detail:
                errors.append(
                    SynclineError(
                        "TransformInvalid",
                        task=task.name,
                        transform=t.type.value,
                        field=m.destination,
                        detail=detail,
                    )
                )
    return errors


def transform_problem(t: Transform) -> str | None:
    """Why a transform's parameters cannot work, or None (beyond the API's presence checks)."""
    if t.type is TransformType.EXTRACT:
        try:
            re.compile(t.pattern or "")
        except re.error as err:
            return f"pattern does not compile: {err}"
    if t.type is TransformType.SPLIT and not t.separator:
        return "separator must not be empty"
    if t.type is TransformType.ARITHMETIC:
        if t.op is ArithmeticOp.DIVIDE and t.operand == 0:
            return "division by zero"
        if t.op is ArithmeticOp.ROUND and (
            t.operand is None or t.operand != int(t.operand) or t.operand < 0
        ):
            return "round needs a whole, non-negative number of decimals"
    if t.type is TransformType.DATE_FORMAT and "%" not in (t.format or ""):
        return "format has no strftime directive (e.g. %Y-%m-%d)"
    if t.type is TransformType.VALUE_MAP and not t.map:
        return "map is empty"
    return None
