"""Checks a task against catalog entities before any data moves.

Pure (models in, errors out), so the operator runs it against the catalogs in
Connection status and the engine against the live schemas, with the same verdicts.
"""

from __future__ import annotations

import re
from collections import Counter

from syncline.api.connection import Entity
from syncline.api.task import ArithmeticOp, Task, Transform, TransformType
from syncline.errors import SynclineError


def validate_task(
    task: Task,
    source: Entity,
    destination: Entity,
    keys: list[str],
    *,
    raw_source: Entity | None = None,
) -> list[SynclineError]:
    """Every problem found (empty when the task can run).

    ``source`` is what the mappings see: the query's output when the task has a SQL
    step. ``raw_source`` is the entity as stored, where the incremental cursor lives
    (defaults to ``source``).
    """
    errors: list[SynclineError] = []
    errors += _source_fields(task, source)
    errors += _destination_fields(task, destination)
    errors += _keys(task, destination, keys)
    errors += _cursor(task, raw_source or source)
    errors += _duplicates(task)
    errors += _transforms(task)
    return errors


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
