"""Pure parts of HTTP auth: which Secret keys each auth type needs, what each auth sends,
and that a private_key_jwt assertion verifies with the client's public key."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)

from syncline.api.connection import ClientAuthentication, ConnectionSpec, required_secret_keys
from syncline.engine.connectors.http_auth import OAuth2Client, OAuth2ClientCredentials, http_auth
from syncline.errors import SynclineError


def _spec(conn_type: str = "rest", auth: dict[str, Any] | None = None) -> ConnectionSpec:
    credentials: dict[str, Any] = {"secretRef": {"name": "s"}}
    if auth is not None:
        credentials["auth"] = auth
    return ConnectionSpec.model_validate(
        {"type": conn_type, "endpoint": {"url": "http://x/"}, "credentials": credentials}
    )


OAUTH = {"type": "oauth2ClientCredentials", "tokenUrl": "http://idp/token"}


@pytest.mark.parametrize(
    ("auth", "keys"),
    [
        (None, ("token",)),
        ({"type": "bearer"}, ("token",)),
        ({"type": "basic"}, ("username", "password")),
        (OAUTH, ("clientId", "clientSecret")),
        ({**OAUTH, "clientAuthentication": "clientSecretPost"}, ("clientId", "clientSecret")),
        ({**OAUTH, "clientAuthentication": "privateKeyJwt"}, ("clientId", "tls.crt", "tls.key")),
    ],
)
def test_the_secret_keys_follow_the_auth_type(
    auth: dict[str, Any] | None, keys: tuple[str, ...]
) -> None:
    assert required_secret_keys(_spec("rest", auth)) == keys
    assert required_secret_keys(_spec("odata", auth)) == keys


def test_database_connections_keep_their_keys() -> None:
    spec = ConnectionSpec.model_validate(
        {
            "type": "postgresql",
            "endpoint": {"host": "h"},
            "credentials": {"secretRef": {"name": "s"}},
        }
    )
    assert required_secret_keys(spec) == ("username", "password")


def _sent(auth: httpx.Auth | None) -> str:
    assert auth is not None
    request = httpx.Request("GET", "http://x/")
    flow = auth.sync_auth_flow(request)
    return next(flow).headers["Authorization"]


def test_bearer_and_basic_headers() -> None:
    assert _sent(http_auth(_spec(), {"token": "t0k"}, timeout_seconds=1)) == "Bearer t0k"
    basic = http_auth(
        _spec(auth={"type": "basic"}), {"username": "u", "password": "p"}, timeout_seconds=1
    )
    assert _sent(basic) == "Basic " + base64.b64encode(b"u:p").decode()
    assert "t0k" not in repr(http_auth(_spec(), {"token": "t0k"}, timeout_seconds=1))


def test_no_secret_means_no_auth() -> None:
    spec = ConnectionSpec.model_validate({"type": "rest", "endpoint": {"url": "http://x/"}})
    assert http_auth(spec, {}, timeout_seconds=1) is None


def test_a_missing_key_is_2101_naming_it() -> None:
    with pytest.raises(SynclineError) as err:
        http_auth(_spec(auth=OAUTH), {"clientId": "c"}, timeout_seconds=1)
    assert err.value.code == 2101
    assert "clientSecret" in str(err.value)


def test_the_oauth2_auth_hides_its_secret() -> None:
    auth = http_auth(
        _spec(auth=OAUTH), {"clientId": "c", "clientSecret": "sh-9"}, timeout_seconds=1
    )
    assert isinstance(auth, OAuth2ClientCredentials)
    assert "sh-9" not in repr(auth)
    assert "sh-9" not in repr(auth.client)


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_a_private_key_jwt_assertion_verifies_with_the_public_key(kind: str) -> None:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if kind == "rsa"
        else ec.generate_private_key(ec.SECP256R1())
    )
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    client = OAuth2Client(
        token_url="http://idp/token",
        client_id="cid",
        method=ClientAuthentication.PRIVATE_KEY_JWT,
        secret_name="s",
        key_pem=pem,
    )
    form, basic = client.token_request()
    assert basic is None
    assert form["client_assertion_type"].endswith("jwt-bearer")
    header, claims, signature = form["client_assertion"].split(".")
    assert json.loads(_b64decode(header))["alg"] == ("RS256" if kind == "rsa" else "ES256")
    body = json.loads(_b64decode(claims))
    assert (body["iss"], body["sub"], body["aud"]) == ("cid", "cid", "http://idp/token")
    signed = f"{header}.{claims}".encode()
    raw = _b64decode(signature)
    if isinstance(key, rsa.RSAPrivateKey):
        key.public_key().verify(raw, signed, padding.PKCS1v15(), hashes.SHA256())
    else:
        der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
        key.public_key().verify(der, signed, ec.ECDSA(hashes.SHA256()))
