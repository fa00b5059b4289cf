"""One validator: the operator (catalogs in status) and the engine (live systems) agree.

Each case is fed to both paths with the same systems behind them: the operator gets the
catalog the Connection controller would have written to status, the engine opens the
systems at run start. Both must give the verdict the case names, code for code.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from syncline.api.connection import ConnectionSpec
from syncline.api.project import IntegrationProjectSpec, Limits
from syncline.api.task import Task
from syncline.controllers.validation import ProjectInputs, plan_project
from syncline.engine.catalog import discover_entities
from syncline.engine.plan_task import TaskInvalidError, prepare_task
from syncline.engine.project import ResolvedConnection, ResolvedProject
from syncline.errors import SynclineError

READY = {"type": "Ready", "status": "True", "reason": "Ok", "message": "ok"}
DERIVES = "SELECT id, upper(name) AS shout FROM source"

CASES = [
    # (source system, query, mappings source -> destination, cursor, expected codes)
    ("sqlite", None, {"id": "id", "name": "name"}, None, []),
    ("sqlite", None, {"id": "id", "shout": "shout"}, None, [2200]),
    ("sqlite", DERIVES, {"id": "id", "shout": "shout"}, None, []),
    ("sqlite", DERIVES, {"id": "id", "name": "name"}, None, [2200]),
    ("sqlite", "SELECT id FROM source", {"id": "id", "name": "name"}, None, [2200]),
    ("sqlite", "SELECT id, nope FROM source", {"id": "id"}, None, [2206]),
    ("sqlite", "SELECT id, upper(id) AS shout FROM source", {"id": "id"}, None, [2206]),
    ("sqlite", "SELECT * FROM read_text('/etc/hostname')", {"id": "id"}, None, [2206]),
    ("sqlite", DERIVES, {"id": "id", "shout": "shout"}, "modified", []),
    ("sqlite", DERIVES, {"id": "id", "shout": "shout"}, "changed", [2210]),
    ("file", "SELECT id, info.city AS shout FROM source", {"id": "id", "shout": "shout"}, None, []),
    (
        "file",
        "SELECT id, info.zip AS shout FROM source",
        {"id": "id", "shout": "shout"},
        None,
        [2206],
    ),
    (
        "file",
        "SELECT id, year(seen) AS shout FROM source",
        {"id": "id", "shout": "shout"},
        None,
        [],
    ),
]


@pytest.fixture
def systems(tmp_path: Path) -> dict[str, ConnectionSpec]:
    """A SQLite source, a Parquet source (nested and zoned types) and a SQLite destination."""
    with sqlite3.connect(tmp_path / "src.db") as db:
        db.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, modified TEXT)")
    with sqlite3.connect(tmp_path / "dst.db") as db:
        db.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, shout TEXT, name TEXT)")
    (tmp_path / "files").mkdir()
    people = pa.table(
        {
            "id": pa.array([1], pa.int64()),
            "name": ["ada"],
            "info": pa.array([{"city": "Kyiv"}], pa.struct([("city", pa.string())])),
            "seen": pa.array([0], pa.timestamp("us", "Europe/Kyiv")),
        }
    )
    pq.write_table(people, tmp_path / "files" / "people.parquet")

    def spec(kind: str, path: Path) -> ConnectionSpec:
        return ConnectionSpec.model_validate({"type": kind, "endpoint": {"path": str(path)}})

    return {
        "sqlite": spec("sqlite", tmp_path / "src.db"),
        "file": spec("file", tmp_path / "files"),
        "dst": spec("sqlite", tmp_path / "dst.db"),
    }


def _task(query: str | None, mappings: dict[str, str], cursor: str | None) -> Task:
    source: dict[str, Any] = {"connection": "src", "entity": "people"}
    if cursor:
        source["incremental"] = {"cursorField": cursor}
    return Task.model_validate(
        {
            "name": "people",
            "query": query,
            "source": source,
            "destination": {"connection": "dst", "entity": "accounts", "keys": ["id"]},
            "mappings": [{"source": s, "destination": d} for s, d in mappings.items()],
        }
    )


def _operator_codes(task: Task, src: ConnectionSpec, dst: ConnectionSpec) -> list[int]:
    members = {"src": src, "dst": dst}
    connection_set = {
        "metadata": {"generation": 1},
        "spec": {
            "connections": [{"name": a, "connectionRef": {"name": a}} for a in members],
        },
        "status": {"observedGeneration": 1, "conditions": [READY]},
    }
    spec = IntegrationProjectSpec.model_validate(
        {"connectionSetRef": {"name": "pair"}, "tasks": [task.to_wire()]}
    )
    connections = {alias: _connection(alias, s) for alias, s in members.items()}
    inputs = ProjectInputs("proj", spec, connection_set, None, connections)
    return [e.code for e in plan_project(inputs).errors]


def _connection(name: str, spec: ConnectionSpec) -> dict[str, Any]:
    """The Connection as its controller leaves it: Ready, with the discovered catalog."""
    entities, count = discover_entities(spec, {}, timeout_seconds=5)
    return {
        "metadata": {"name": name, "namespace": "team-a", "generation": 1},
        "spec": spec.to_wire(),
        "status": {
            "observedGeneration": 1,
            "conditions": [READY],
            "entityCount": count,
            "entities": [e.to_wire() for e in entities],
        },
    }


def _engine_codes(task: Task, src: ConnectionSpec, dst: ConnectionSpec) -> list[int]:
    project = ResolvedProject(
        namespace="team-a",
        name="proj",
        tasks=[task],
        connections={
            "src": ResolvedConnection("src", src, {}),
            "dst": ResolvedConnection("dst", dst, {}),
        },
        integration_keys=[],
        org_units=None,
        limits=Limits(),
    )
    try:
        prepare_task(project, task, dry_run=True).close()
    except TaskInvalidError as err:
        return [e.code for e in err.errors]
    except SynclineError as err:
        return [err.code]
    return []


@pytest.mark.parametrize(("system", "query", "mappings", "cursor", "expected"), CASES)
def test_operator_and_engine_give_the_same_verdict(
    systems: dict[str, ConnectionSpec],
    system: str,
    query: str | None,
    mappings: dict[str, str],
    cursor: str | None,
    expected: list[int],
) -> None:
    task = _task(query, mappings, cursor)
    src, dst = systems[system], systems["dst"]
    assert _engine_codes(task, src, dst) == expected
    assert _operator_codes(task, src, dst) == expected
