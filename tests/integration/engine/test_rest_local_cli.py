"""`syncline run` on YAML files: an OAuth2-protected REST API into PostgreSQL, locally.

The Secret in the YAML holds clientId/clientSecret (the keys oauth2ClientCredentials
needs), the CLI resolves them, and the engine gets tokens from the real OAuth2 server.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syncline.devcluster.databases import DatabaseAccess
from tests.fixtures.oauth import APP, OAuthServer
from tests.fixtures.rest_server import RestServer
from tests.integration.engine.harness import postgres_harness
from tests.integration.engine.test_local_cli import _syncline

pytestmark = pytest.mark.integration

COUNT = 33
YAML = """\
apiVersion: syncline.dev/v1alpha1
kind: Connection
metadata: {{name: shop}}
spec:
  type: rest
  endpoint: {{url: "{api}"}}
  credentials:
    secretRef: {{name: shop-oauth}}
    auth: {{type: oauth2ClientCredentials, tokenUrl: "{token_url}", scope: api,
            clientAuthentication: clientSecretPost}}
  options:
    batchSize: 10
    rest:
      pagination: {{style: linkHeader, pageSize: 8}}
      entities:
        - name: orders
          path: linkheader/orders
          key: [id]
          fields: [{{name: id, type: integer}}, {{name: total, type: number}}]
---
apiVersion: v1
kind: Secret
metadata: {{name: shop-oauth}}
stringData: {{clientId: "{client_id}", clientSecret: "{client_secret}"}}
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
stringData: {{username: "{user}", password: "{password}"}}
---
apiVersion: syncline.dev/v1alpha1
kind: ConnectionSet
metadata: {{name: shop-to-warehouse}}
spec:
  connections:
    - {{name: shop, connectionRef: {{name: shop}}}}
    - {{name: dwh, connectionRef: {{name: warehouse}}}}
  integrationKeys:
    - {{connection: dwh, entity: orders, fields: [id]}}
---
apiVersion: syncline.dev/v1alpha1
kind: IntegrationProject
metadata: {{name: orders}}
spec:
  connectionSetRef: {{name: shop-to-warehouse}}
  tasks:
    - name: orders
      source: {{connection: shop, entity: orders}}
      destination: {{connection: dwh, entity: orders}}
      mappings:
        - {{source: id, destination: id}}
        - {{source: total, destination: total}}
"""


def _project(
    where: Path, api: RestServer, oauth: OAuthServer, db: DatabaseAccess, secret: str
) -> Path:
    directory = where / "project"
    directory.mkdir(parents=True)
    (directory / "objects.yaml").write_text(
        YAML.format(
            api=api.url,
            token_url=oauth.token_url,
            client_id=APP[0],
            client_secret=secret,
            port=db.port,
            database=db.database,
            user=db.user,
            password=db.password,
        )
    )
    return directory


def test_a_rest_project_runs_locally_with_oauth2(
    tmp_path: Path, pg_db: DatabaseAccess, oauth_rest_server: RestServer, oauth_server: OAuthServer
) -> None:
    oauth_rest_server.load("orders", [{"id": i, "total": i * 1.25} for i in range(COUNT)])
    pg = postgres_harness(pg_db)
    pg.execute("CREATE TABLE orders (id bigint PRIMARY KEY, total double precision)")

    wrong = "wrong-cli-secret-Vb72"
    bad = _project(tmp_path / "a", oauth_rest_server, oauth_server, pg_db, wrong)
    failed = _syncline("run", "-f", str(bad))
    assert failed.returncode == 1
    assert "2001 AuthenticationFailed" in failed.stdout
    assert wrong not in failed.stdout + failed.stderr

    project_dir = _project(tmp_path / "b", oauth_rest_server, oauth_server, pg_db, APP[1])
    log = tmp_path / "run.jsonl"
    ran = _syncline("run", "-f", str(project_dir), "--json", "--log-file", str(log))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    report = json.loads(ran.stdout)
    assert (report["result"], report["inserted"]) == ("Completed", COUNT)
    assert [r["id"] for r in pg.content("orders")] == list(range(COUNT))
    again = json.loads(_syncline("run", "-f", str(project_dir), "--json").stdout)
    assert (again["inserted"], again["unchanged"]) == (0, COUNT)
    assert APP[1] not in log.read_text() + ran.stdout + ran.stderr
