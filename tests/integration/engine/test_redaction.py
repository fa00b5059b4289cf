"""Secrets and row values stay out of what a run publishes (issue 13, item 7).

A credential value the driver echoes (here the user name, which is also the name of a
database that does not exist) must not reach the report, the JSON-lines log or the
CLI's output; a row value the destination quotes in its complaint must reach only the
rejects store. Error codes, keys and field names stay.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

import pyarrow as pa
import pytest

from syncline.api.run import RunResult
from syncline.devcluster.databases import DatabaseAccess
from syncline.engine.logs import json_log
from syncline.engine.runner import run_project
from tests.integration.engine.harness import Harness, mysql_harness, postgres_harness
from tests.integration.engine.projects import project, task
from tests.integration.engine.test_local_cli import YAML, _syncline

pytestmark = pytest.mark.integration

CANARY = "CanaryValue7"


def _harness(kind: str, request: pytest.FixtureRequest) -> Harness:
    if kind == "postgresql":
        return postgres_harness(request.getfixturevalue("pg_db"))
    return mysql_harness(request.getfixturevalue("mariadb_db"))


def _pointing_at_database(h: Harness, database: str) -> Harness:
    spec = h.spec.model_copy(deep=True)
    spec.endpoint.database = database
    return Harness(h.kind, spec, h.credentials, access=h.access)


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_a_credential_the_driver_echoes_leaves_no_trace(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    real = _harness(kind, request)
    user = real.credentials["username"]
    # A database named like the (secret) user name does not exist: the driver says so.
    broken = _pointing_at_database(real, user)
    p = project(broken, broken, [task()])
    log = tmp_path / "run.jsonl"
    with json_log(log, redactor=p.redactor):  # as the CLI and the run pod log
        report = run_project(p)
    assert report.result is RunResult.ERROR
    code = 2000 if kind == "postgresql" else 2001
    assert user in str(report.tasks[0].error).lower()  # the driver did echo it ...
    text = log.read_text()  # ... and it is scrubbed wherever the run publishes text
    assert user.lower() not in text.lower()
    assert real.credentials["password"] not in text
    wire = json.loads(report.to_json(p.redactor))
    assert user not in json.dumps(wire).lower()
    assert (wire["errorCode"], wire["message"][:5]) == (code, f"{code} ")
    if kind == "postgresql":  # the driver's own text is kept, only the value is gone
        assert 'database "***" does not exist' in wire["message"]


def test_the_cli_shows_no_credential_value(tmp_path: Path, pg_db: DatabaseAccess) -> None:
    project_dir = tmp_path / "project"
    (project_dir / "data").mkdir(parents=True)
    with sqlite3.connect(project_dir / "data" / "legacy.db") as conn:
        conn.execute("CREATE TABLE clients (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO clients VALUES (1, 'ada')")
    (project_dir / "objects.yaml").write_text(
        YAML.format(
            port=pg_db.port,
            database=pg_db.user,  # the secret user name, echoed by PostgreSQL
            user_b64=base64.b64encode(pg_db.user.encode()).decode(),
            password=pg_db.password,
        )
    )
    log = tmp_path / "run.jsonl"
    as_json = _syncline("run", "-f", str(project_dir), "--json", "--log-file", str(log))
    as_table = _syncline("run", "-f", str(project_dir))
    planned = _syncline("plan", "-f", str(project_dir))
    assert (as_json.returncode, as_table.returncode, planned.returncode) == (1, 1, 1)
    report = json.loads(as_json.stdout)
    assert report["errorCode"] == 2000
    assert "2000 ConnectionUnreachable" in as_table.stdout
    assert "2000 ConnectionUnreachable" in planned.stdout
    for ran in (as_json, as_table, planned):
        for text in (ran.stdout, ran.stderr):
            assert pg_db.user not in text.lower()
            assert pg_db.password not in text
    assert log.read_text()
    assert pg_db.user not in log.read_text().lower()


POISON = pa.table(
    {
        "id": pa.array([1, 2], pa.int64()),
        "name": pa.array(["ok", "fine"], pa.string()),
        "amount": pa.array([CANARY, "5"], pa.string()),
    }
)


def _rejects_messages(h: Harness) -> list[str]:
    return [r[0] for r in h.execute("SELECT message FROM _syncline_rejects")]


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_a_rejected_row_value_reaches_only_the_rejects_store(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    h = _harness(kind, request)
    h.create("src_table", POISON, keys=["id"])
    h.execute("CREATE TABLE dst_table (id bigint PRIMARY KEY, name varchar(5), amount bigint)")
    p = project(h, h, [task()])
    log = tmp_path / "run.jsonl"
    with json_log(log):
        report = run_project(p)
    assert report.result is RunResult.WARNING, report.message()
    assert (report.totals.inserted, report.totals.failed) == (1, 1)
    (row_error,) = report.to_status().row_errors
    assert (row_error.key, row_error.code) == ("id=1", 2303)
    assert row_error.message.startswith("2303 RowRejected: The destination rejected the row: ")
    for text in (report.to_json(), log.read_text(), row_error.message):
        assert CANARY not in text
    (stored,) = _rejects_messages(h)
    assert CANARY in stored


def test_an_unmapped_value_reaches_only_the_rejects_store(
    pg_db: DatabaseAccess, tmp_path: Path
) -> None:
    h = postgres_harness(pg_db)
    h.create(
        "src_table",
        POISON.drop_columns(["amount"]).append_column("status", pa.array([CANARY, "A"])),
        keys=["id"],
    )
    h.execute("CREATE TABLE dst_table (id bigint PRIMARY KEY, status text)")
    value_map = {"type": "valueMap", "map": {"A": "active"}}
    t = task(
        mappings=[
            {"destination": "id", "source": "id"},
            {"destination": "status", "source": "status", "transforms": [value_map]},
        ]
    )
    log = tmp_path / "run.jsonl"
    with json_log(log):
        report = run_project(project(h, h, [t]))
    (row_error,) = report.to_status().row_errors
    assert (row_error.key, row_error.field, row_error.code) == ("id=1", "status", 2304)
    for text in (report.to_json(), log.read_text(), row_error.message):
        assert CANARY not in text
    (stored,) = _rejects_messages(h)
    assert CANARY in stored
    assert stored.startswith("2304 ValueNotMapped: ")
