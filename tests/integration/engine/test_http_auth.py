"""HTTP auth of the REST connector against a real OAuth2 server and a real API.

The API (tests/fixtures/rest_app.py) introspects every bearer token at the OAuth2
server (oidc-provider), so a revoked or expired token is refused there, for real.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from syncline.devcluster.process import free_ports
from syncline.engine.connectors import open_source
from syncline.engine.connectors.rest import RestConnector
from syncline.engine.runner import run_project
from syncline.errors import SynclineError
from tests.fixtures.oauth import APP, INTROSPECTOR, JWT_APP, OAuthServer, running_oauth_server
from tests.fixtures.rest_server import RestServer, rest_spec, running_rest_server
from tests.integration.engine.conftest import make_harness
from tests.integration.engine.harness import Harness
from tests.integration.engine.projects import after_batches, project, small_batches, task

pytestmark = pytest.mark.integration

COUNT = 40
RECORDS = [{"id": i, "name": f"n{i}"} for i in range(1, COUNT + 1)]
ENTITY = {
    "name": "things",
    "path": "things",
    "key": ["id"],
    "fields": [{"name": "id", "type": "integer"}, {"name": "name"}],
}
SECRET = "oauth-creds"


def _oauth(server: OAuthServer, method: str = "clientSecretBasic", **extra: Any) -> dict[str, Any]:
    auth = {"type": "oauth2ClientCredentials", "tokenUrl": server.token_url, "scope": "api"}
    return {
        "secretRef": {"name": SECRET},
        "auth": {**auth, "clientAuthentication": method, **extra},
    }


def _ids(source: Any, pause: float = 0.0) -> list[int]:
    ids: list[int] = []
    try:
        for batch in source.read("things", batch_size=7):
            ids += [r["id"] for r in batch.to_pylist()]
            time.sleep(pause)
    finally:
        source.close()
    return ids


@pytest.fixture(scope="module")
def api(oauth_rest_server: RestServer) -> RestServer:
    oauth_rest_server.load("things", RECORDS)
    return oauth_rest_server


@pytest.mark.parametrize("method", ["clientSecretBasic", "clientSecretPost", "privateKeyJwt"])
def test_each_client_authentication_gets_one_token_for_a_whole_read(
    api: RestServer, oauth_server: OAuthServer, method: str
) -> None:
    if method == "privateKeyJwt":
        key = oauth_server.client_key
        credentials = {"clientId": JWT_APP, "tls.crt": key.cert_pem, "tls.key": key.key_pem}
    else:
        credentials = {"clientId": APP[0], "clientSecret": APP[1]}
    spec = rest_spec(api, [ENTITY], style="offset", credentials=_oauth(oauth_server, method))
    before = oauth_server.stats()["tokensIssued"]
    assert _ids(open_source(spec, credentials, timeout_seconds=5)) == list(range(1, COUNT + 1))
    assert oauth_server.stats()["tokensIssued"] - before == 1


def test_bearer_and_basic_reach_the_api() -> None:
    with running_rest_server({"REST_STATIC_TOKEN": "static-token-9"}) as server:
        server.load("things", RECORDS)
        bearer = {"secretRef": {"name": SECRET}}  # no auth: a bearer token by default
        spec = rest_spec(server, [ENTITY], style="cursor", credentials=bearer)
        assert len(_ids(open_source(spec, {"token": "static-token-9"}, timeout_seconds=5))) == 40
        with pytest.raises(SynclineError) as err:
            _ids(open_source(spec, {"token": "other-token-1"}, timeout_seconds=5))
        assert err.value.code == 2001
        assert "other-token-1" not in str(err.value)
        basic = {"secretRef": {"name": SECRET}, "auth": {"type": "basic"}}
        spec = rest_spec(server, [ENTITY], style="cursor", credentials=basic)
        with pytest.raises(SynclineError) as err:  # the API takes bearer tokens only
            _ids(open_source(spec, {"username": "u", "password": "pw-77"}, timeout_seconds=5))
        assert err.value.code == 2001
        assert "pw-77" not in str(err.value)


def test_a_token_expiring_mid_read_is_renewed_before_it_is_refused() -> None:
    with running_oauth_server(token_ttl_seconds=4) as short:
        env = {
            "REST_INTROSPECTION_URL": short.introspection_url,
            "REST_INTROSPECTION_CLIENT_ID": INTROSPECTOR[0],
            "REST_INTROSPECTION_CLIENT_SECRET": INTROSPECTOR[1],
        }
        with running_rest_server(env) as server:
            server.load("things", RECORDS)
            spec = rest_spec(server, [ENTITY], style="offset", credentials=_oauth(short))
            source = open_source(
                spec, {"clientId": APP[0], "clientSecret": APP[1]}, timeout_seconds=5
            )
            # 6 batches, 0.9 s apart: the read outlives a 4 s token (renewed at 2 s).
            assert _ids(source, pause=0.9) == list(range(1, COUNT + 1))
            assert short.stats()["tokensIssued"] >= 2
            assert server.stats()["unauthorized"] == 0


def test_a_token_revoked_mid_run_is_renewed_and_the_run_completes(
    api: RestServer, oauth_server: OAuthServer, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    spec = rest_spec(api, [ENTITY], style="pageNumber", credentials=_oauth(oauth_server))
    spec.options.batch_size = 7
    source = Harness("rest", spec, {"clientId": APP[0], "clientSecret": APP[1]})
    dst = make_harness("sqlite", request, tmp_path)
    dst.create(
        "dst_table",
        pa.table({"id": pa.array([], pa.int64()), "name": pa.array([], pa.string())}),
        keys=["id"],
    )

    before, refused = oauth_server.stats()["tokensIssued"], api.stats()["unauthorized"]
    mappings = [{"destination": "id", "source": "id"}, {"destination": "name", "source": "name"}]
    p = project(source, dst, [task(source="things", mappings=mappings)])
    report = run_project(p, on_progress=after_batches(2, oauth_server.revoke_all))
    assert (report.totals.read, report.totals.inserted) == (COUNT, COUNT), report.message()
    assert api.stats()["unauthorized"] - refused == 1
    assert oauth_server.stats()["tokensIssued"] - before == 2


def test_a_wrong_client_secret_is_2001_naming_the_secret_not_its_value(
    api: RestServer, oauth_server: OAuthServer
) -> None:
    spec = rest_spec(api, [ENTITY], style="offset", credentials=_oauth(oauth_server))
    wrong = "not-the-secret-Zq81"
    source = open_source(spec, {"clientId": APP[0], "clientSecret": wrong}, timeout_seconds=5)
    with pytest.raises(SynclineError) as err:
        source.check()
    source.close()
    assert err.value.code == 2001
    assert SECRET in str(err.value)
    assert wrong not in str(err.value)
    assert isinstance(source, RestConnector)
    assert wrong not in repr(source.auth)


def test_an_unreachable_token_endpoint_is_2000(api: RestServer) -> None:
    (port,) = free_ports(1)
    auth = {
        "secretRef": {"name": SECRET},
        "auth": {"type": "oauth2ClientCredentials", "tokenUrl": f"http://127.0.0.1:{port}/token"},
    }
    spec = rest_spec(api, [ENTITY], style="offset", credentials=auth)
    source = open_source(spec, {"clientId": APP[0], "clientSecret": APP[1]}, timeout_seconds=2)
    with pytest.raises(SynclineError) as err:
        source.check()
    source.close()
    assert err.value.code == 2000


def test_parallel_workers_share_one_token_and_one_renewal(
    api: RestServer, oauth_server: OAuthServer, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """PostgreSQL → REST with 8 workers: the token revoked mid-run is refused to several
    requests at once, yet renewed only once, and every record lands."""
    count = 80
    pg = make_harness("postgresql", request, tmp_path)
    pg.execute("CREATE TABLE things (id bigint PRIMARY KEY, name text)")
    pg.execute("INSERT INTO things VALUES (%s, %s)", [(i, f"t{i}") for i in range(count)])
    target = {**ENTITY, "path": "things-dst", "upsert": {"path": "items/things-dst/{id}"}}
    spec = rest_spec(api, [target], style="none", credentials=_oauth(oauth_server))
    spec.options.parallelism = 8
    sink = Harness("rest", spec, {"clientId": APP[0], "clientSecret": APP[1]})
    before, refused = oauth_server.stats()["tokensIssued"], api.stats()["unauthorized"]
    source = small_batches(pg, 20)
    p = project(source, sink, [task(source="things", destination="things")], name="workers")
    report = run_project(p, on_progress=after_batches(1, oauth_server.revoke_all))
    assert (report.totals.inserted, report.totals.failed) == (count, 0), report.message()
    assert oauth_server.stats()["tokensIssued"] - before == 2
    assert api.stats()["unauthorized"] - refused >= 1
    assert len(api.records("things-dst", token=oauth_server.issue())) == count
