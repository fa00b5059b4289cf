"""Test harnesses: create a table/file with rows in each real system and read it back.

Written with each system's own client (not the connector under test), so the contract
tests check the connectors against the real thing.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pymysql

from syncline.api.connection import ConnectionSpec
from syncline.devcluster.databases import DatabaseAccess
from tests.fixtures.rest_server import RestServer, rest_spec
from tests.integration.engine.odata_harness import ODataModel

REST_TYPES = {
    pa.int64(): "integer",
    pa.string(): "string",
    pa.float64(): "number",
    pa.timestamp("us"): "timestamp",
    pa.bool_(): "boolean",
}
SQL_TYPES = {
    pa.int64(): ("bigint", "bigint", "INTEGER"),
    pa.string(): ("text", "varchar(200)", "TEXT"),
    pa.float64(): ("double precision", "double", "REAL"),
    pa.timestamp("us"): ("timestamp", "datetime(6)", "TEXT"),
    pa.bool_(): ("boolean", "tinyint(1)", "INTEGER"),
}


@dataclass
class Harness:
    """One real system a connector talks to."""

    kind: str
    spec: ConnectionSpec
    credentials: dict[str, str] = field(default_factory=dict)
    access: DatabaseAccess | None = None
    directory: Path | None = None
    file_suffix: str = ".csv"
    rest: RestServer | None = None
    rest_entities: dict[str, dict[str, Any]] = field(default_factory=dict)
    rest_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    """This harness's own place for watermarks and rejects on the shared test API."""
    odata: ODataModel | None = None

    # -- writing fixtures ----------------------------------------------------------
    def create(
        self,
        entity: str,
        table: pa.Table,
        keys: list[str] | None = None,
        not_null: tuple[str, ...] = (),
    ) -> None:
        if self.kind == "file":
            assert self.directory is not None
            path = self.directory / f"{entity}{self.file_suffix}"
            if self.file_suffix == ".parquet":
                pq.write_table(table, path)
            elif self.file_suffix == ".jsonl":
                path.write_text("".join(_json_line(r) for r in table.to_pylist()))
            else:
                pacsv.write_csv(table, path)
            return
        if self.kind == "rest":
            self._create_rest(entity, table, keys or [], not_null)
            return
        if self.kind == "odata":
            assert self.odata is not None
            self.spec = self.odata.create(entity, table, keys or [], not_null)
            self.credentials = self.odata.credentials()
            return
        index = {"postgresql": 0, "mysql": 1, "sqlite": 2}[self.kind]
        cols = []
        for f in table.schema:
            null = " NOT NULL" if f.name in not_null else ""
            cols.append(f"{self._q(f.name)} {SQL_TYPES[f.type][index]}{null}")
        if keys:
            cols.append(f"PRIMARY KEY ({', '.join(self._q(k) for k in keys)})")
        self.execute(f"CREATE TABLE {self._q(entity)} ({', '.join(cols)})")
        if table.num_rows:
            marks = ", ".join(["%s" if self.kind != "sqlite" else "?"] * table.num_columns)
            names = ", ".join(self._q(n) for n in table.schema.names)
            rows = [tuple(r.values()) for r in table.to_pylist()]
            self.execute(f"INSERT INTO {self._q(entity)} ({names}) VALUES ({marks})", rows)

    def _create_rest(
        self, entity: str, table: pa.Table, keys: list[str], not_null: tuple[str, ...]
    ) -> None:
        """Serve the rows as a new dataset and declare it in the Connection's options
        (REST has no catalog to discover: the declaration is the catalog)."""
        assert self.rest is not None
        dataset = f"{entity}-{uuid.uuid4().hex[:8]}"
        self.rest.load(dataset, [_jsonable(r) for r in table.to_pylist()])
        self.rest_entities[entity] = {
            "name": entity,
            "path": dataset,
            "key": keys,
            "upsert": {"path": f"items/{dataset}/{{id}}"},
            "fields": [
                {"name": f.name, "type": REST_TYPES[f.type], "nullable": f.name not in not_null}
                for f in table.schema
            ],
        }
        self.spec = rest_spec(
            self.rest,
            list(self.rest_entities.values()),
            statePath=f"state/{self.rest_id}/{{scope}}",
            rejectsPath=f"rejects/{self.rest_id}",
        )

    def rest_rejects(self) -> list[dict[str, Any]]:
        assert self.rest is not None
        return self.rest.records(f"rejects-{self.rest_id}")

    def _q(self, name: str) -> str:
        """An identifier quoted for this system (embedded quotes doubled)."""
        quote = "`" if self.kind == "mysql" else '"'
        return quote + name.replace(quote, quote * 2) + quote

    def execute(self, statement: str, rows: list[tuple[Any, ...]] | None = None) -> list[Any]:
        """Run SQL in the system (committed) and return fetched rows, if any."""
        if self.kind == "postgresql":
            assert self.access is not None
            with psycopg.connect(self.access.dsn, autocommit=True) as conn, conn.cursor() as cur:
                if rows:
                    cur.executemany(statement, rows)
                    return []
                cur.execute(statement)
                return cur.fetchall() if cur.description else []
        if self.kind == "mysql":
            assert self.access is not None
            conn = pymysql.connect(
                host=self.access.host,
                port=self.access.port,
                user=self.access.user,
                password=self.access.password,
                database=self.access.database,
                autocommit=True,
            )
            with conn, conn.cursor() as cur:
                if rows:
                    cur.executemany(statement, rows)
                    return []
                cur.execute(statement)
                return list(cur.fetchall()) if cur.description else []
        assert self.spec.endpoint.path
        with sqlite3.connect(self.spec.endpoint.path) as conn:
            if rows:
                conn.executemany(statement, rows)
                return []
            return conn.execute(statement).fetchall()

    # -- reading back --------------------------------------------------------------
    def content(self, entity: str, order_by: str = "id") -> list[dict[str, Any]]:
        """Every row of the entity, as dicts ordered by ``order_by``."""
        if self.kind == "odata":
            assert self.odata is not None
            return self.odata.content(entity, order_by)
        if self.kind == "rest":
            assert self.rest is not None
            dataset = self.rest_entities[entity]["path"]
            return sorted(self.rest.records(dataset), key=lambda r: r[order_by])
        if self.kind == "file":
            assert self.directory is not None
            path = next(self.directory.glob(f"{entity}.*"))
            table = (
                pq.read_table(path)
                if path.suffix == ".parquet"
                else pacsv.read_csv(
                    path,
                    convert_options=pacsv.ConvertOptions(
                        strings_can_be_null=True, quoted_strings_can_be_null=False
                    ),
                )
            )
            return sorted(table.to_pylist(), key=lambda r: r[order_by])
        if self.kind == "postgresql":
            assert self.access is not None
            with psycopg.connect(self.access.dsn) as conn:
                cur = conn.execute(f"SELECT * FROM {self._q(entity)} ORDER BY {self._q(order_by)}")
                names = [d.name for d in cur.description or []]
                return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        if self.kind == "mysql":
            assert self.access is not None
            conn = pymysql.connect(
                host=self.access.host,
                port=self.access.port,
                user=self.access.user,
                password=self.access.password,
                database=self.access.database,
                cursorclass=pymysql.cursors.DictCursor,
            )
            with conn, conn.cursor() as cur:
                cur.execute(f"SELECT * FROM {self._q(entity)} ORDER BY {self._q(order_by)}")
                return list(cur.fetchall())
        assert self.spec.endpoint.path
        with sqlite3.connect(self.spec.endpoint.path) as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute(
                f"SELECT * FROM {self._q(entity)} ORDER BY {self._q(order_by)}"
            ).fetchall()
            return [dict(r) for r in rows]


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def _json_line(row: dict[str, Any]) -> str:
    import json

    return json.dumps(row, default=str) + "\n"


def postgres_harness(db: DatabaseAccess) -> Harness:
    spec = ConnectionSpec.model_validate(
        {
            "type": "postgresql",
            "endpoint": {"host": db.host, "port": db.port, "database": db.database},
            "credentials": {"secretRef": {"name": "pg-creds"}},
        }
    )
    return Harness("postgresql", spec, db.credentials, access=db)


def mysql_harness(db: DatabaseAccess) -> Harness:
    spec = ConnectionSpec.model_validate(
        {
            "type": "mysql",
            "endpoint": {"host": db.host, "port": db.port, "database": db.database},
            "credentials": {"secretRef": {"name": "mysql-creds"}},
        }
    )
    return Harness("mysql", spec, db.credentials, access=db)


def sqlite_harness(directory: Path) -> Harness:
    spec = ConnectionSpec.model_validate(
        {"type": "sqlite", "endpoint": {"path": str(directory / "data.db")}}
    )
    return Harness("sqlite", spec)


def file_harness(directory: Path, suffix: str) -> Harness:
    spec = ConnectionSpec.model_validate({"type": "file", "endpoint": {"path": str(directory)}})
    return Harness("file", spec, directory=directory, file_suffix=suffix)


def rest_harness(server: RestServer) -> Harness:
    """The REST test API; each ``create`` serves a dataset and declares it as an entity."""
    return Harness("rest", rest_spec(server, []), rest=server)


def odata_harness(model: ODataModel) -> Harness:
    """A CAP server whose model ``create`` writes (see ``odata_harness``'s module)."""
    return Harness("odata", model.spec(), model.credentials(), odata=model)
