"""`syncline run` / `syncline plan` on YAML files, as a user runs them (real processes)."""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from syncline.api.connection import credential_env_var
from syncline.devcluster.databases import DatabaseAccess
from tests.integration.engine.harness import postgres_harness

pytestmark = pytest.mark.integration

SYNCLINE = [str(Path(sys.executable).parent / "syncline")]

YAML = """\
apiVersion: syncline.dev/v1alpha1
kind: Connection
metadata: {{name: legacy}}
spec:
  type: sqlite
  endpoint: {{path: data/legacy.db}}
---
apiVersion: syncline.dev/v1alpha1
kind: Connection
metadata: {{name: warehouse}}
spec:
  type: postgresql
  endpoint: {{host: 127.0.0.1, port: {port}, database: {database}}}
  credentials: {{secretRef: {{name: warehouse-creds}}}}
---
apiVersion: v1
kind: Secret
metadata: {{name: warehouse-creds}}
data: {{username: {user_b64}}}
stringData: {{password: "{password}"}}
---
apiVersion: syncline.dev/v1alpha1
kind: ConnectionSet
metadata: {{name: legacy-to-warehouse}}
spec:
  connections:
    - {{name: legacy, connectionRef: {{name: legacy}}}}
    - {{name: dwh, connectionRef: {{name: warehouse}}}}
  integrationKeys:
    - {{connection: dwh, entity: customers, fields: [id]}}
---
apiVersion: syncline.dev/v1alpha1
kind: IntegrationTemplate
metadata: {{name: customers}}
spec:
  tasks:
    - name: customers
      source: {{connection: legacy, entity: clients}}
      destination: {{connection: dwh, entity: customers}}
      mappings:
        - {{source: id, destination: id}}
        - {{source: name, destination: name}}
---
apiVersion: syncline.dev/v1alpha1
kind: IntegrationProject
metadata: {{name: nightly}}
spec:
  connectionSetRef: {{name: legacy-to-warehouse}}
  templateRef: {{name: customers}}
  tasks:
    - name: customers
      mappings:
        - source: name
          destination: name
          transforms: [{{type: upper}}]
"""


def _setup(tmp_path: Path, db: DatabaseAccess, password: str) -> Path:
    project_dir = tmp_path / "project"
    (project_dir / "data").mkdir(parents=True)
    with sqlite3.connect(project_dir / "data" / "legacy.db") as conn:
        conn.execute("CREATE TABLE clients (id INTEGER PRIMARY KEY, name TEXT)")
        conn.executemany("INSERT INTO clients VALUES (?, ?)", [(1, "ada"), (2, "bob")])
    user_b64 = base64.b64encode(db.user.encode()).decode()
    (project_dir / "objects.yaml").write_text(
        YAML.format(port=db.port, database=db.database, user_b64=user_b64, password=password)
    )
    postgres_harness(db).execute("CREATE TABLE customers (id bigint PRIMARY KEY, name text)")
    return project_dir


def _syncline(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SYNCLINE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def test_plan_writes_nothing_then_run_syncs(tmp_path: Path, pg_db: DatabaseAccess) -> None:
    project_dir = _setup(tmp_path, pg_db, pg_db.password)
    pg = postgres_harness(pg_db)

    planned = _syncline("plan", "-f", str(project_dir))
    assert planned.returncode == 0, planned.stderr
    assert "insert id=1" in planned.stdout
    assert "'ADA'" in planned.stdout
    assert pg.content("customers") == []

    log = tmp_path / "run.jsonl"
    ran = _syncline("run", "-f", str(project_dir), "--json", "--log-file", str(log))
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout)
    assert (report["result"], report["inserted"]) == ("Completed", 2)
    assert [r["name"] for r in pg.content("customers")] == ["ADA", "BOB"]
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert any(e["message"] == "run finished" and e["inserted"] == 2 for e in entries)
    assert pg_db.password not in log.read_text()


def test_env_credentials_override_and_failures_exit_non_zero(
    tmp_path: Path, pg_db: DatabaseAccess
) -> None:
    project_dir = _setup(tmp_path, pg_db, "wrong-password")
    failed = _syncline("run", "-f", str(project_dir))
    assert failed.returncode == 1
    assert "2001 AuthenticationFailed" in failed.stdout
    assert "wrong-password" not in failed.stdout + failed.stderr
    env = {credential_env_var("dwh", "password"): pg_db.password}
    ok = _syncline("run", "-f", str(project_dir), env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
