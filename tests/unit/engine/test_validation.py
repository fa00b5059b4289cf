"""Validation of tasks against catalog entities (what the operator shows in status)."""

from __future__ import annotations

from typing import Any

from syncline.api.connection import Entity, EntityField
from syncline.api.task import Task
from syncline.engine.validation import validate_task


def _entity(name: str, *fields: str) -> Entity:
    return Entity(name=name, fields=[EntityField(name=f, type="text") for f in fields])


SOURCE = _entity("customers", "id", "name", "modified")
DEST = _entity("accounts", "id", "title")


def _codes(task: dict[str, Any], keys: list[str] | None = None) -> list[tuple[int, str]]:
    errors = validate_task(
        Task.model_validate({"name": "sync", **task}),
        SOURCE,
        DEST,
        ["id"] if keys is None else keys,
    )
    return [(e.code, str(e)) for e in errors]


def test_a_correct_task_has_no_errors() -> None:
    task = {
        "mappings": [
            {"destination": "id", "source": "id"},
            {"destination": "title", "source": "name"},
        ],
        "source": {
            "connection": "a",
            "entity": "customers",
            "incremental": {"cursorField": "modified"},
        },
    }
    assert _codes(task) == []


def test_missing_source_field_names_task_and_field() -> None:
    [(code, message)] = _codes({"mappings": [{"destination": "title", "source": "nmae"}]})
    assert code == 2200
    assert "sync" in message
    assert "nmae" in message
    assert "customers" in message


def test_concat_fields_are_source_fields_too() -> None:
    task = {
        "mappings": [
            {
                "destination": "title",
                "source": "name",
                "transforms": [{"type": "concat", "fields": ["surname"]}],
            }
        ]
    }
    assert [c for c, _ in _codes(task)] == [2200]


def test_destination_keys_cursor_duplicates_and_transforms() -> None:
    task = {
        "source": {
            "connection": "a",
            "entity": "customers",
            "incremental": {"cursorField": "changed"},
        },
        "mappings": [
            {"destination": "title", "source": "name"},
            {"destination": "title", "constant": "x"},
            {
                "destination": "nope",
                "source": "id",
                "transforms": [{"type": "arithmetic", "op": "divide", "operand": 0}],
            },
        ],
    }
    codes = sorted(c for c, _ in _codes(task, keys=["code"]))
    assert codes == [2201, 2203, 2205, 2209, 2210]
    assert [c for c, _ in _codes({}, keys=[])] == [2202]
