"""Validation of tasks against catalog entities (what the operator shows in status)."""

from __future__ import annotations

from typing import Any

import pytest

from syncline.api.connection import ConnectionType, Entity, EntityField
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
        source_type=ConnectionType.POSTGRESQL,
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


def _sql_codes(query: str, *sources: str, cursor: str | None = None) -> list[int]:
    """Codes for a task whose SQL step feeds mappings from ``sources`` into DEST."""
    source: dict[str, Any] = {"connection": "a", "entity": "customers"}
    if cursor:
        source["incremental"] = {"cursorField": cursor}
    task = {
        "query": query,
        "source": source,
        "mappings": [{"destination": "title", "source": s} for s in sources],
    }
    return [c for c, _ in _codes(task)]


def test_mappings_read_the_columns_the_query_outputs_not_the_stored_ones() -> None:
    assert _sql_codes("SELECT id, upper(name) AS shout FROM source", "shout") == []
    assert _sql_codes("SELECT id, upper(name) AS shout FROM source", "name") == [2200]


def test_the_cursor_is_checked_on_the_stored_entity_where_the_source_reads_it() -> None:
    query = "SELECT id, name FROM source"
    assert _sql_codes(query, "name", cursor="modified") == []
    assert _sql_codes(query, "name", cursor="changed") == [2210]


def test_a_query_that_cannot_be_planned_is_2206_first_without_field_noise() -> None:
    errors = validate_task(
        Task.model_validate(
            {
                "name": "sync",
                "query": "SELECT nope FROM source",
                "mappings": [{"destination": "missing", "source": "nope"}],
            }
        ),
        SOURCE,
        DEST,
        ["id"],
        source_type=ConnectionType.POSTGRESQL,
    )
    assert [e.code for e in errors] == [2206, 2201]
    assert "Task sync: the SQL query is invalid" in str(errors[0])


@pytest.mark.parametrize(
    ("system", "type_name", "planned"),
    [
        (ConnectionType.POSTGRESQL, "integer", False),  # upper() takes text, not a number
        (ConnectionType.POSTGRESQL, "text", True),
        (ConnectionType.FILE, "int64", False),
        (ConnectionType.FILE, "string", True),
    ],
)
def test_the_query_is_planned_over_the_types_the_source_system_reports(
    system: ConnectionType, type_name: str, planned: bool
) -> None:
    source = Entity(name="customers", fields=[EntityField(name="name", type=type_name)])
    task = Task.model_validate(
        {
            "name": "sync",
            "query": "SELECT upper(name) AS title FROM source",
            "mappings": [{"destination": "title", "source": "title"}],
        }
    )
    codes = [e.code for e in validate_task(task, source, DEST, ["id"], source_type=system)]
    assert codes == ([] if planned else [2206])
