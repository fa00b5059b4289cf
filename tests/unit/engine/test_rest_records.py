"""Pure parts of the REST connector: finding records in a body and typing them."""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa
import pytest

from syncline.engine.connectors.rest import _member, _records, records_to_batch
from syncline.errors import SynclineError

SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("name", pa.string()),
        ("at", pa.timestamp("us")),
        ("day", pa.date32()),
        ("ok", pa.bool_()),
    ]
)


def test_records_are_found_at_a_dotted_path() -> None:
    body = {"data": {"items": [{"id": 1}]}, "next": None}
    assert _records(body, "data.items", "e", "ep") == [{"id": 1}]
    assert _records([{"id": 2}], None, "e", "ep") == [{"id": 2}]
    assert _member(body, "data.missing") is None


@pytest.mark.parametrize("body", [{"data": {}}, {"data": {"items": [1, 2]}}, {"data": "x"}])
def test_no_array_of_objects_is_2032(body: object) -> None:
    with pytest.raises(SynclineError) as err:
        _records(body, "data.items", "e", "ep")
    assert err.value.code == 2032


def test_records_become_a_typed_batch() -> None:
    records = [
        {"id": 1, "name": "a", "at": "2024-01-02T03:04:05+02:00", "day": "2024-01-02", "ok": True},
        {"id": 2, "name": 7, "extra": [1]},
    ]
    batch = records_to_batch("e", records, SCHEMA, "ep")
    rows = batch.to_pylist()
    assert rows[0] == {
        "id": 1,
        "name": "a",
        "at": datetime(2024, 1, 2, 1, 4, 5),
        "day": date(2024, 1, 2),
        "ok": True,
    }
    assert rows[1] == {"id": 2, "name": "7", "at": None, "day": None, "ok": None}


@pytest.mark.parametrize("value", [1.5, "x", True])
def test_a_wrong_type_is_2032_naming_the_field(value: object) -> None:
    with pytest.raises(SynclineError) as err:
        records_to_batch("e", [{"id": value}], SCHEMA, "ep")
    assert err.value.code == 2032
    assert "field id" in str(err.value)
