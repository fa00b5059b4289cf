"""An OAuth2-protected OData service: the CAP server accepts only tokens the real
OAuth2 server (oidc-provider) introspects as active, and the OData source gets them with
the client credentials grant, renewing one revoked mid-read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from syncline.api.connection import ConnectionSpec
from syncline.engine.connectors import open_source
from syncline.errors import SynclineError
from tests.fixtures.oauth import APP, INTROSPECTOR, OAuthServer
from tests.fixtures.odata import ODataServer

pytestmark = pytest.mark.integration

COUNT = 1100  # three pages of CAP's 500


def _spec(cap: ODataServer, oauth: OAuthServer) -> ConnectionSpec:
    return ConnectionSpec.model_validate(
        {
            "type": "odata",
            "endpoint": {"url": cap.url},
            "credentials": {
                "secretRef": {"name": "cap-oauth"},
                "auth": {
                    "type": "oauth2ClientCredentials",
                    "tokenUrl": oauth.token_url,
                    "scope": "api",
                },
            },
        }
    )


@pytest.fixture
def cap(odata_server_factory: Callable[..., ODataServer], oauth_server: OAuthServer) -> ODataServer:
    server = odata_server_factory(
        {
            "ODATA_INTROSPECTION_URL": oauth_server.introspection_url,
            "ODATA_INTROSPECTION_CLIENT_ID": INTROSPECTOR[0],
            "ODATA_INTROSPECTION_CLIENT_SECRET": INTROSPECTOR[1],
        }
    )
    records = [{"ID": i, "name": f"c{i}"} for i in range(1, COUNT + 1)]
    server.upsert("Customers", ["ID"], records)  # set-up with the server's static token
    return server


def test_an_oauth2_protected_odata_read_renews_a_revoked_token(
    cap: ODataServer, oauth_server: OAuthServer
) -> None:
    source = open_source(
        _spec(cap, oauth_server), {"clientId": APP[0], "clientSecret": APP[1]}, timeout_seconds=10
    )
    before = oauth_server.stats()["tokensIssued"]
    ids: list[Any] = []
    try:
        for number, batch in enumerate(source.read("Customers", batch_size=500)):
            ids += [r["ID"] for r in batch.to_pylist()]
            if number == 0:
                oauth_server.revoke_all()  # the next page's request is refused once
    finally:
        source.close()
    assert sorted(ids) == list(range(1, COUNT + 1))
    assert oauth_server.stats()["tokensIssued"] - before == 2


def test_a_wrong_client_secret_fails_the_odata_check_with_2001(
    cap: ODataServer, oauth_server: OAuthServer
) -> None:
    wrong = "wrong-odata-secret-Pq3"
    source = open_source(
        _spec(cap, oauth_server), {"clientId": APP[0], "clientSecret": wrong}, timeout_seconds=10
    )
    try:
        with pytest.raises(SynclineError) as err:
            source.check()
    finally:
        source.close()
    assert err.value.code == 2001
    assert "cap-oauth" in str(err.value)
    assert wrong not in str(err.value)
