"""Per-field transforms: what a user sees in the destination, and which rows fail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyarrow as pa
import pytest

from syncline.api.task import Task
from syncline.engine.transform.mapping import MappingContext, dedupe_last_wins, map_batch
from syncline.errors import SynclineError

BATCH = pa.RecordBatch.from_pydict(
    {
        "id": pa.array([1, 2, 3], pa.int64()),
        "name": pa.array(["  Ada Lovelace ", "bob", None], pa.string()),
        "status": pa.array(["A", "I", "X"], pa.string()),
        "amount": pa.array(["10.5", "abc", "3"], pa.string()),
        "at": pa.array(
            [datetime(2024, 1, 2, 3, 4), datetime(2023, 12, 31), None], pa.timestamp("us")
        ),
        "unit": pa.array(["USMF", None, "USMF"], pa.string()),
    }
)


def _map(
    transforms: list[dict[str, Any]],
    source: str | None = "name",
    *,
    org_units: dict[str, str] | None = None,
    constant: str | None = None,
) -> tuple[list[Any], dict[str, int]]:
    mapping: dict[str, Any] = {"destination": "out", "transforms": transforms}
    if constant is not None:
        mapping["constant"] = constant
    else:
        mapping["source"] = source
    task = Task.model_validate(
        {"name": "t", "mappings": [{"destination": "id", "source": "id"}, mapping]}
    )
    ctx = MappingContext(
        task=task,
        keys=["id"],
        destination_fields=None,
        org_units=org_units,
        source_alias="fo",
        destination_alias="sales",
    )
    out, errors = map_batch(BATCH, ctx)
    values = dict(zip(out.column("id").to_pylist(), out.column("out").to_pylist(), strict=True))
    return [values.get(i, "<failed>") for i in (1, 2, 3)], {e.key: e.code for e in errors}


def test_trim_upper_lower() -> None:
    assert _map([{"type": "trim"}, {"type": "upper"}])[0] == ["ADA LOVELACE", "BOB", None]
    assert _map([{"type": "lower"}])[0] == ["  ada lovelace ", "bob", None]


def test_default_fills_only_empty_values() -> None:
    assert _map([{"type": "default", "value": "n/a"}])[0] == ["  Ada Lovelace ", "bob", "n/a"]


def test_value_map_with_fallback_and_without() -> None:
    with_fallback = [
        {"type": "valueMap", "map": {"A": "active", "I": "inactive"}, "fallback": "other"}
    ]
    assert _map(with_fallback, "status")[0] == ["active", "inactive", "other"]
    strict = [{"type": "valueMap", "map": {"A": "active", "I": "inactive"}}]
    values, errors = _map(strict, "status")
    assert values == ["active", "inactive", "<failed>"]
    assert errors == {"id=3": 2304}


def test_cast_turns_bad_values_into_row_errors() -> None:
    values, errors = _map([{"type": "cast", "to": "float"}], "amount")
    assert values == [10.5, "<failed>", 3.0]
    assert errors == {"id=2": 2300}


def test_concat_split_extract() -> None:
    concat = [{"type": "concat", "fields": ["status"], "separator": "-"}]
    assert _map(concat, "status")[0] == ["A-A", "I-I", "X-X"]
    split = [{"type": "trim"}, {"type": "split", "separator": " ", "index": -1}]
    assert _map(split)[0] == ["Lovelace", "bob", None]
    extract = [{"type": "extract", "pattern": r"(\d+)"}]
    assert _map(extract, "amount")[0] == ["10", None, "3"]


def test_date_format_and_arithmetic() -> None:
    assert _map([{"type": "dateFormat", "format": "%d.%m.%Y"}], "at")[0] == [
        "02.01.2024",
        "31.12.2023",
        None,
    ]
    values, errors = _map([{"type": "arithmetic", "op": "multiply", "operand": 2}], "amount")
    assert values == [21.0, "<failed>", 6.0]
    assert errors == {"id=2": 2300}
    assert (
        _map(
            [{"type": "cast", "to": "float"}, {"type": "arithmetic", "op": "round", "operand": 0}],
            "amount",
        )[0][0]
        == 10.0
    )


def test_constant_and_org_unit() -> None:
    assert _map([], constant="web")[0] == ["web", "web", "web"]
    units = {"fo": "USMF", "sales": "Sales-US"}
    assert _map([{"type": "orgUnit"}], "unit", org_units=units)[0] == ["Sales-US"] * 3
    with pytest.raises(SynclineError) as err:
        _map([{"type": "orgUnit"}], "unit", org_units=None)
    assert err.value.code == 1101


def test_empty_key_is_a_row_error() -> None:
    batch = pa.RecordBatch.from_pydict({"id": pa.array([1, None], pa.int64())})
    task = Task.model_validate({"name": "t"})
    ctx = MappingContext(
        task=task,
        keys=["id"],
        destination_fields=None,
        org_units=None,
        source_alias="a",
        destination_alias="b",
    )
    out, errors = map_batch(batch, ctx)
    assert out.num_rows == 1
    assert [(e.code, e.field) for e in errors] == [(2302, "id")]


def test_no_mappings_copies_fields_the_destination_has() -> None:
    task = Task.model_validate({"name": "t"})
    ctx = MappingContext(
        task=task,
        keys=["id"],
        destination_fields=frozenset({"id", "name"}),
        org_units=None,
        source_alias="a",
        destination_alias="b",
    )
    out, _ = map_batch(BATCH, ctx)
    assert out.schema.names == ["id", "name"]


def test_dedupe_keeps_the_last_record_of_each_key() -> None:
    batch = pa.RecordBatch.from_pydict({"k": [1, 2, 1, 3, 1], "v": ["a", "b", "c", "d", "e"]})
    out, dropped = dedupe_last_wins(batch, ["k"])
    assert dropped == 2
    assert out.to_pydict() == {"k": [2, 3, 1], "v": ["b", "d", "e"]}


def _row_errors(transforms: list[dict[str, Any]], source: str) -> list[Any]:
    task = Task.model_validate(
        {
            "name": "t",
            "mappings": [
                {"destination": "id", "source": "id"},
                {"destination": "out", "source": source, "transforms": transforms},
            ],
        }
    )
    ctx = MappingContext(
        task=task,
        keys=["id"],
        destination_fields=None,
        org_units=None,
        source_alias="a",
        destination_alias="b",
    )
    return map_batch(BATCH, ctx)[1]


@pytest.mark.parametrize(
    ("transforms", "source", "value", "code"),
    [
        ([{"type": "valueMap", "map": {"A": "active", "I": "inactive"}}], "status", "X", 2304),
        ([{"type": "cast", "to": "float"}], "amount", "abc", 2300),
    ],
)
def test_row_error_messages_name_the_field_and_keep_the_value_for_the_rejects_store(
    transforms: list[dict[str, Any]], source: str, value: str, code: int
) -> None:
    (error,) = _row_errors(transforms, source)
    public, stored = error.to_api(), error.to_store()
    assert (public.code, public.field, public.key) == (code, "out", error.key)
    assert public.message.startswith(f"{code} ")
    assert "out" in public.message
    assert repr(value) not in public.message
    assert f"{value!r}" in stored.message
    assert stored.message.startswith(public.message)
    assert (stored.task, stored.key, stored.field, stored.code) == (
        public.task,
        public.key,
        public.field,
        public.code,
    )
