"""The OData side of the contract harness: a CAP model written for the test's entities.

An OData service's entity sets come from its model, so ``create`` writes a CDS model with
every entity the test made so far (plus the state and rejects sets Syncline keeps), and
starts a fresh CAP server on it (in-memory SQLite), loading the rows of every entity.
Rows are written and read with plain HTTP, not with the connector under test.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from syncline.api.connection import ConnectionSpec
from tests.fixtures.odata import ODataServer, start_odata_server, stop_odata_server

CDS_TYPES = {
    pa.int64(): "Integer64",
    pa.int32(): "Integer",
    pa.string(): "String",
    pa.float64(): "Double",
    pa.bool_(): "Boolean",
    pa.date32(): "Date",
    pa.timestamp("us"): "Timestamp",
    pa.timestamp("us", "UTC"): "Timestamp",
}
STATE_SET = "SynclineState"
REJECTS_SET = "SynclineRejects"
SYNCLINE_SETS = f"""
  entity {STATE_SET} {{ key scope : String(400); watermark : String(400); }}
  entity {REJECTS_SET} {{
    key id : UUID; rejectedAt : Timestamp; entitySet : String(200); task : String(200);
    rowKey : String(1000); field : String(200); code : Integer; message : String(2000);
  }}
"""


@dataclass
class ODataModel:
    """The entities a test created, and the server serving them."""

    entities: dict[str, tuple[pa.Table, list[str], tuple[str, ...]]] = field(default_factory=dict)
    server: ODataServer | None = None
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="odata-model-")))
    page_size: int = 1000

    def create(
        self, entity: str, table: pa.Table, keys: list[str], not_null: tuple[str, ...]
    ) -> ConnectionSpec:
        self.entities[entity] = (table, keys, not_null)
        return self.start()

    def start(self) -> ConnectionSpec:
        """(Re)start the server on the current model and load every entity's rows."""
        self.stop()
        path = self.directory / "model.cds"
        path.write_text(self._cds())
        self.server = start_odata_server(model=[path])
        for name, (rows, entity_keys, _) in self.entities.items():
            if rows.num_rows:
                self.server.upsert(name, entity_keys, [_json(r) for r in rows.to_pylist()])
        return self.spec()

    def spec(self) -> ConnectionSpec:
        url = self.server.url if self.server else "http://127.0.0.1:9/odata"
        return ConnectionSpec.model_validate(
            {
                "type": "odata",
                "endpoint": {"url": url},
                "credentials": {"secretRef": {"name": "odata-creds"}},
                "options": {"stateEntitySet": STATE_SET, "rejectsEntitySet": REJECTS_SET},
            }
        )

    def credentials(self) -> dict[str, str]:
        return {"token": self.server.token} if self.server else {"token": "none"}

    def content(self, entity: str, order_by: str) -> list[dict[str, Any]]:
        assert self.server is not None
        return sorted(self.server.rows(entity), key=lambda r: r[order_by])

    def stop(self) -> None:
        if self.server is not None:
            stop_odata_server(self.server)
            self.server = None

    def _cds(self) -> str:
        limit = f"{{ default: {self.page_size}, max: {self.page_size} }}"
        parts = ["service Test @(path: '/odata') {", SYNCLINE_SETS]
        for name, (table, keys, not_null) in self.entities.items():
            elements = []
            for f in table.schema:
                key = "key " if f.name in keys else ""
                null = " not null" if f.name in not_null and not key else ""
                elements.append(f"{key}{f.name} : {CDS_TYPES[f.type]}{null};")
            parts.append(f"  @cds.query.limit: {limit}")
            parts.append(f"  entity {name} {{ {' '.join(elements)} }}")
        parts.append("}")
        return "\n".join(parts) + "\n"


def _json(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        if isinstance(v, datetime):
            v = (v if v.tzinfo else v.replace(tzinfo=UTC)).isoformat()
        elif isinstance(v, date):
            v = v.isoformat()
        elif isinstance(v, Decimal):
            v = str(v)
        out[k] = v
    return out
