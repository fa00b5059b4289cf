"""Pure parts of the OData connector and its HTTP client: no server involved."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from syncline.api.connection import ConnectionType, Entity, EntityField
from syncline.engine.arrow_types import catalog_schema
from syncline.engine.connectors.http_client import RetryGate, retry_after_seconds
from syncline.engine.connectors.odata_batch import Operation, batch_body, batch_outcomes
from syncline.engine.connectors.odata_metadata import edm_arrow_type, parse_metadata
from syncline.engine.connectors.odata_values import (
    comparable,
    filter_literal,
    key_literal,
    payload_value,
)
from syncline.errors import SynclineError

METADATA = b"""<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
  <edmx:DataServices>
    <Schema Namespace="Shop" Alias="S" xmlns="http://docs.oasis-open.org/odata/ns/edm">
      <EntityType Name="Base" Abstract="true">
        <Key><PropertyRef Name="id"/></Key>
        <Property Name="id" Type="Edm.Guid" Nullable="false"/>
      </EntityType>
      <EntityType Name="Order" BaseType="S.Base">
        <Property Name="total" Type="Edm.Decimal" Precision="12" Scale="2"/>
        <Property Name="note" Type="Edm.String" MaxLength="40"/>
        <Property Name="placed" Type="Edm.DateTimeOffset"/>
        <NavigationProperty Name="customer" Type="S.Customer"/>
      </EntityType>
      <EntityContainer Name="C">
        <EntitySet Name="Orders" EntityType="Shop.Order"/>
      </EntityContainer>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>"""


def test_metadata_gives_fields_keys_and_facets_following_the_base_type() -> None:
    orders = parse_metadata(METADATA)["Orders"].to_entity()
    assert [(f.name, f.type, f.nullable) for f in orders.fields] == [
        ("id", "Edm.Guid", False),
        ("total", "Edm.Decimal(12,2)", True),
        ("note", "Edm.String(40)", True),
        ("placed", "Edm.DateTimeOffset", True),
    ]
    assert orders.unique_keys == [["id"]]


def test_catalog_types_map_to_the_arrow_types_the_source_reads() -> None:
    assert edm_arrow_type("Edm.Int32") == pa.int64()
    assert edm_arrow_type("Edm.Decimal(12,2)") == pa.decimal128(12, 2)
    assert edm_arrow_type("Edm.Decimal") == pa.string()
    assert edm_arrow_type("Edm.DateTimeOffset") == pa.timestamp("us", "UTC")
    assert edm_arrow_type("Edm.Date") == pa.date32()
    assert edm_arrow_type("Edm.Guid") == pa.string()
    entity = Entity(name="e", fields=[EntityField(name="b", type="Edm.Boolean")])
    assert catalog_schema(entity, ConnectionType.ODATA) == pa.schema([("b", pa.bool_())])


@pytest.mark.parametrize(
    ("text", "edm", "literal"),
    [
        ("42", "Edm.Int64", "42"),
        ("1.50", "Edm.Decimal(12,2)", "1.50"),
        ("O'Neil", "Edm.String(40)", "'O''Neil'"),
        ("2024-01-02", "Edm.Date", "2024-01-02"),
        ("2024-01-02 10:00:00.123000+00:00", "Edm.DateTimeOffset", "2024-01-02T10:00:00.123Z"),
        ("2024-01-02 12:00:00+02:00", "Edm.DateTimeOffset", "2024-01-02T10:00:00Z"),
    ],
)
def test_watermarks_become_literals_of_the_cursor_type(text: str, edm: str, literal: str) -> None:
    assert filter_literal(text, edm, entity="e", field="f") == literal


def test_a_cursor_without_an_order_is_refused_with_its_code() -> None:
    with pytest.raises(SynclineError) as err:
        filter_literal("true", "Edm.Boolean", entity="e", field="flag")
    assert err.value.code == 2018


def test_values_compare_equal_across_their_json_forms() -> None:
    sent = payload_value(Decimal("1.50"), "Edm.Decimal")
    assert comparable(sent, "Edm.Decimal") == comparable(Decimal("1.5"), "Edm.Decimal")
    moment = datetime(2024, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)
    assert comparable(payload_value(moment, "Edm.DateTimeOffset"), "Edm.DateTimeOffset") == (
        comparable("2024-01-01T00:00:00.123Z", "Edm.DateTimeOffset")
    )
    assert payload_value(date(2024, 2, 3), "Edm.Date") == "2024-02-03"
    assert key_literal("a'b", "Edm.String") == "'a''b'"


def test_batch_outcomes_follow_operation_ids_and_carry_the_service_message() -> None:
    ops = [Operation(7, "E(1)", {}), Operation(9, "E(2)", {})]
    assert [r["id"] for r in batch_body(ops)["requests"]] == ["0", "1"]
    answer = {
        "responses": [
            {"id": "1", "status": 400, "body": {"error": {"message": "too big"}}},
            {"id": "0", "status": 204},
        ]
    }
    outcomes = batch_outcomes(ops, answer, endpoint="x")
    assert [(o.row, o.ok, o.error) for o in outcomes] == [(7, True, ""), (9, False, "too big")]
    with pytest.raises(SynclineError) as err:
        batch_outcomes(ops, {"responses": answer["responses"][:1]}, endpoint="x")
    assert err.value.code == 2017


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2024, 1, 1, 0, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("Mon, 01 Jan 2024 00:00:05 GMT", now=now) == 5.0
    assert retry_after_seconds("Mon, 01 Jan 2023 00:00:05 GMT", now=now) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_the_gate_holds_every_thread_until_it_reopens() -> None:
    gate = RetryGate()
    gate.close_for(0.3)
    gate.close_for(0.1)  # never earlier
    released: list[float] = []
    start = time.monotonic()

    def worker() -> None:
        gate.wait()
        released.append(time.monotonic() - start)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(released) == 4
    assert min(released) >= 0.29
