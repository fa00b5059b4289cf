"""OAuth2 Connections in the real control plane: a wrong client secret is 2001 on the
Connection's status (never the secret), fixing the Secret heals it, and the API server
refuses a half-configured OAuth2 with 2030."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes.client.rest import ApiException

from tests.fixtures.oauth import APP, OAuthServer
from tests.fixtures.rest_server import RestServer
from tests.integration.operator.harness import Cluster, OperatorProcess

pytestmark = pytest.mark.integration
WRONG_SECRET = "wrong-client-secret-Kd93xV"


def _rest_connection(api: RestServer, auth: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "rest",
        "endpoint": {"url": api.url},
        "credentials": {"secretRef": {"name": "api-oauth"}, "auth": auth},
        "options": {
            "rest": {
                "recordsPath": "results",
                "pagination": {"style": "offset", "pageSize": 5},
                "entities": [
                    {
                        "name": "things",
                        "path": "offset/things",
                        "key": ["id"],
                        "fields": [{"name": "id", "type": "integer"}, {"name": "name"}],
                    }
                ],
            }
        },
    }


def test_a_wrong_client_secret_is_2001_on_the_connection_and_heals(
    cluster: Cluster,
    oauth_server: OAuthServer,
    oauth_rest_server: RestServer,
    start_operator: Callable[..., OperatorProcess],
) -> None:
    oauth_rest_server.load("things", [{"id": i, "name": f"n{i}"} for i in range(12)])
    operator = start_operator()
    cluster.secret("api-oauth", {"clientId": APP[0], "clientSecret": WRONG_SECRET})
    auth = {"type": "oauth2ClientCredentials", "tokenUrl": oauth_server.token_url}
    cluster.create("connections", "api", _rest_connection(oauth_rest_server, auth), "Connection")

    condition = cluster.wait_reason("connections", "api", "AuthenticationFailed")
    assert condition["message"].startswith("2001 AuthenticationFailed:")
    assert "api-oauth" in condition["message"]

    cluster.secret("api-oauth", {"clientId": APP[0], "clientSecret": APP[1]})
    cluster.wait_ready("connections", "api", timeout=90)
    status = cluster.get("connections", "api")["status"]
    assert [e["name"] for e in status["entities"]] == ["things"]

    everything = json.dumps(cluster.get("connections", "api"))
    events = json.dumps(cluster.events(), default=str)
    for secret in (WRONG_SECRET, APP[1]):
        assert secret not in everything
        assert secret not in events
        assert secret not in operator.text()


def test_the_api_server_refuses_oauth2_without_a_token_url(
    cluster: Cluster, oauth_rest_server: RestServer
) -> None:
    spec = _rest_connection(oauth_rest_server, {"type": "oauth2ClientCredentials"})
    with pytest.raises(ApiException) as caught:
        cluster.create("connections", "half", spec, "Connection")
    assert caught.value.status == 422
    assert "2030 HttpAuthInvalid: oauth2ClientCredentials needs tokenUrl" in caught.value.body
    bearer_with_url = _rest_connection(
        oauth_rest_server, {"type": "bearer", "tokenUrl": "http://127.0.0.1:1/token"}
    )
    with pytest.raises(ApiException) as caught:
        cluster.create("connections", "mixed", bearer_with_url, "Connection")
    assert "2030 HttpAuthInvalid: tokenUrl, scope and clientAuthentication" in caught.value.body
