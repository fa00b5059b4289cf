"""The operator does not load Arrow (pyarrow, numpy) or DuckDB: not by importing its
controllers, and not on its common paths (probing and describing a Connection,
validating a plain task). They cost ~40 MiB of the operator's memory; only a task with
a SQL step or a scale-out key needs them there.

Each check runs in a fresh interpreter: the test process itself has long loaded them.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

HEAVY = ("pyarrow", "numpy", "duckdb")

_REPORT = f"""
import json, sys
print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
"""


def _loaded_after(code: str, *args: str) -> list[str]:
    """Which of HEAVY a fresh interpreter has loaded after running ``code`` (with
    ``args`` in ``sys.argv[1:]``)."""
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code) + _REPORT, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    loaded: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


def test_importing_the_operator_loads_no_arrow_numpy_or_duckdb() -> None:
    assert _loaded_after("import syncline.controllers.startup") == []


def test_describing_a_sqlite_table_and_validating_a_plain_task_loads_no_arrow(
    tmp_path: Path,
) -> None:
    db = tmp_path / "crm.db"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
            "balance NUMERIC(10,2), modified DATETIME)"
        )
    code = """
    import sys

    from syncline.api.connection import ConnectionSpec, ConnectionType
    from syncline.api.task import Task
    from syncline.engine.catalog import check_connection, describe_entity, discover_entities
    from syncline.engine.validation import validate_task

    spec = ConnectionSpec.model_validate({"type": "sqlite", "endpoint": {"path": sys.argv[1]}})
    check_connection(spec, {}, timeout_seconds=5)
    entities, total = discover_entities(spec, {}, timeout_seconds=5)
    assert total == 1 and [e.name for e in entities] == ["customers"], entities
    entity = describe_entity(spec, {}, "customers", timeout_seconds=5)
    assert entity.unique_keys == [["id"]], entity
    task = Task.model_validate({
        "name": "sync",
        "source": {
            "connection": "crm",
            "entity": "customers",
            "incremental": {"cursorField": "modified"},
        },
        "mappings": [
            {"destination": "id", "source": "id"},
            {"destination": "name", "source": "name", "transforms": [{"type": "trim"}]},
            {
                "destination": "balance",
                "source": "balance",
                "transforms": [{"type": "arithmetic", "op": "round", "operand": 2}],
            },
        ],
    })
    errors = validate_task(task, entity, entity, ["id"], source_type=ConnectionType.SQLITE)
    assert errors == [], errors
    """
    assert _loaded_after(code, str(db)) == []


def test_checking_a_file_connection_loads_no_arrow(tmp_path: Path) -> None:
    (tmp_path / "customers.csv").write_text("id,name\n1,Ada\n")
    code = """
    import sys

    from syncline.api.connection import ConnectionSpec
    from syncline.engine.catalog import check_connection

    spec = ConnectionSpec.model_validate({"type": "file", "endpoint": {"path": sys.argv[1]}})
    check_connection(spec, {}, timeout_seconds=5)
    """
    assert _loaded_after(code, str(tmp_path)) == []


def test_a_task_with_a_sql_step_still_plans_it_with_arrow_and_duckdb() -> None:
    """The other side of the lazy imports: validation that needs them loads them (and
    the probe above would see it)."""
    code = """
    from syncline.api.connection import ConnectionType, Entity, EntityField
    from syncline.api.task import Task
    from syncline.engine.validation import validate_task

    entity = Entity(
        name="customers",
        fields=[EntityField(name="id", type="integer"), EntityField(name="name", type="text")],
    )
    task = Task.model_validate({
        "name": "sync",
        "query": "SELECT id, upper(name) AS name FROM source",
        "mappings": [{"destination": "id", "source": "id"}],
    })
    errors = validate_task(task, entity, entity, ["id"], source_type=ConnectionType.SQLITE)
    assert errors == [], errors
    """
    assert _loaded_after(code) == ["duckdb", "numpy", "pyarrow"]
