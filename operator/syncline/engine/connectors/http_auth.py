"""Authentication of HTTP connections (odata, rest) as ``httpx.Auth`` objects.

One function, ``http_auth``, turns a Connection's ``credentials.auth`` and the Secret's
values into the ``httpx.Auth`` every request of the connector goes through: a static
bearer token, HTTP basic, or OAuth2 client credentials (RFC 6749 section 4.4) with the
client authenticated by its secret or by a private-key JWT (RFC 7523).

Why an ``httpx.Auth`` rather than a header computed once: an OAuth2 token expires during
long runs, and the one place that sees every request and every 401 is the auth flow. The
token is cached and shared by all the worker threads of a run (one lock, one refresh at a
time), renewed shortly before ``expires_in`` runs out, and renewed once more when the
service answers 401 anyway (a token revoked or expired early), so neither case fails the run.

Failures carry catalog codes and never the secret: a rejected client is 2001 naming the
Secret, an unreachable token endpoint 2000 (2003 on a timeout), any other refusal 2031.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from syncline.api.connection import (
    ClientAuthentication,
    ConnectionSpec,
    HttpAuth,
    HttpAuthType,
)
from syncline.errors import SynclineError

REFRESH_MARGIN_SECONDS = 30.0
"""A token is renewed this long before it expires (at most half its lifetime), so a
request sent just before expiry does not arrive just after it; servers count expiry in
whole seconds, so a short-lived token may end up to a second before expires_in says."""
DEFAULT_TOKEN_SECONDS = 300.0
"""Lifetime assumed when the token endpoint does not say (expires_in is only RECOMMENDED)."""
TOKEN_ATTEMPTS = 3
"""Token requests tried on a connection error or a 5xx before the run gives up."""
ASSERTION_SECONDS = 60
"""Lifetime of a private_key_jwt client assertion: long enough for clock skew, no longer."""
_REJECTED_CLIENT = {"invalid_client", "unauthorized_client", "invalid_grant", "access_denied"}
_JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def http_auth(
    spec: ConnectionSpec, credentials: Mapping[str, str], *, timeout_seconds: float
) -> httpx.Auth | None:
    """The ``httpx.Auth`` for ``spec``'s requests; None when it names no Secret.

    ``credentials`` holds the Secret's keys that ``required_secret_keys(spec)`` lists.
    Without ``credentials.auth`` a Secret's ``token`` is a bearer token (the API default).
    """
    if spec.credentials is None:
        return None
    auth = spec.credentials.auth or HttpAuth()
    secret = spec.credentials.secret_ref.name
    if auth.type is HttpAuthType.BEARER:
        return BearerAuth(_key(credentials, "token", secret))
    if auth.type is HttpAuthType.BASIC:
        return httpx.BasicAuth(
            _key(credentials, "username", secret), _key(credentials, "password", secret)
        )
    if not auth.token_url:
        raise SynclineError("HttpAuthInvalid", detail="oauth2ClientCredentials needs tokenUrl")
    method = auth.client_authentication or ClientAuthentication.CLIENT_SECRET_BASIC
    client = OAuth2Client(
        token_url=auth.token_url,
        client_id=_key(credentials, "clientId", secret),
        method=method,
        secret_name=secret,
        client_secret=(
            None
            if method is ClientAuthentication.PRIVATE_KEY_JWT
            else _key(credentials, "clientSecret", secret)
        ),
        key_pem=credentials.get("tls.key"),
        cert_pem=credentials.get("tls.crt"),
        scope=auth.scope,
    )
    return OAuth2ClientCredentials(client, timeout_seconds=timeout_seconds)


def _key(credentials: Mapping[str, str], key: str, secret: str) -> str:
    value = credentials.get(key)
    if not value:
        raise SynclineError("SecretKeyMissing", name=secret, key=key, type="http auth")
    return value


class BearerAuth(httpx.Auth):
    """A static bearer token (a personal access token, an API key issued as a bearer)."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:  # never the token, whatever prints this object
        return "BearerAuth(<redacted>)"


@dataclass(frozen=True, repr=False)
class OAuth2Client:
    """A registered OAuth2 client and how it authenticates at the token endpoint."""

    token_url: str
    client_id: str
    method: ClientAuthentication
    secret_name: str
    client_secret: str | None = None
    key_pem: str | None = None
    cert_pem: str | None = None
    scope: str | None = None

    def __repr__(self) -> str:  # the dataclass default would print the secret
        return f"OAuth2Client({self.token_url!r}, {self.client_id!r}, {self.method.value})"

    @property
    def endpoint(self) -> str:
        """The token URL as messages show it: no user info, query or fragment."""
        parts = urlsplit(self.token_url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path}"

    def token_request(self) -> tuple[dict[str, str], httpx.Auth | None]:
        """The form body of a client credentials request, and the auth for it."""
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        if self.method is ClientAuthentication.CLIENT_SECRET_BASIC:
            # RFC 6749 2.3.1: id and secret are form-encoded before the basic encoding.
            user, password = (
                quote(self.client_id, safe=""),
                quote(self.client_secret or "", safe=""),
            )
            return form, httpx.BasicAuth(user, password)
        form["client_id"] = self.client_id
        if self.method is ClientAuthentication.CLIENT_SECRET_POST:
            form["client_secret"] = self.client_secret or ""
        else:
            form["client_assertion_type"] = _JWT_BEARER
            form["client_assertion"] = self.assertion()
        return form, None

    def assertion(self) -> str:
        """A private_key_jwt client assertion (RFC 7523 section 3) signed with tls.key."""
        if not self.key_pem:
            raise SynclineError(
                "SecretKeyMissing", name=self.secret_name, key="tls.key", type="privateKeyJwt"
            )
        try:
            key = serialization.load_pem_private_key(self.key_pem.encode(), password=None)
        except ValueError as err:
            raise SynclineError(
                "HttpAuthInvalid", detail=f"tls.key of Secret {self.secret_name} is no PEM key"
            ) from err
        header: dict[str, str] = {"typ": "JWT"}
        if isinstance(key, rsa.RSAPrivateKey):
            header["alg"] = "RS256"
        elif isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1":
            header["alg"] = "ES256"
        else:
            raise SynclineError(
                "HttpAuthInvalid", detail="privateKeyJwt needs an RSA or P-256 key in tls.key"
            )
        if self.cert_pem:
            der = x509.load_pem_x509_certificate(self.cert_pem.encode()).public_bytes(
                serialization.Encoding.DER
            )
            header["x5t#S256"] = _b64(hashlib.sha256(der).digest())
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.token_url,
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + ASSERTION_SECONDS,
        }
        signing_input = f"{_b64(_json(header))}.{_b64(_json(claims))}".encode()
        if isinstance(key, rsa.RSAPrivateKey):
            signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        else:
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
            signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return f"{signing_input.decode()}.{_b64(signature)}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class OAuth2ClientCredentials(httpx.Auth):
    """Bearer tokens from a client credentials grant, cached and shared across threads.

    ``token_requests`` counts the calls to the token endpoint (tests and metrics read it).
    """

    def __init__(self, client: OAuth2Client, *, timeout_seconds: float) -> None:
        self.client = client
        self._timeout = timeout_seconds
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self.token_requests = 0

    def __repr__(self) -> str:
        return f"OAuth2ClientCredentials({self.client!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            # Revoked or expired early: renew once (unless another thread already did).
            request.headers["Authorization"] = f"Bearer {self.token(stale=token)}"
            yield request

    def token(self, *, stale: str | None = None) -> str:
        """A valid access token: the cached one unless it is due or equals ``stale``."""
        with self._lock:
            if (
                self._token is not None
                and self._token != stale
                and time.monotonic() < self._renew_at
            ):
                return self._token
            token, lifetime = self._fetch()
            margin = min(REFRESH_MARGIN_SECONDS, lifetime / 2)
            self._token, self._renew_at = token, time.monotonic() + lifetime - margin
            return token

    def _fetch(self) -> tuple[str, float]:
        """One client credentials grant, retried on connection errors and 5xx answers."""
        endpoint = self.client.endpoint
        last: SynclineError | None = None
        for attempt in range(TOKEN_ATTEMPTS):
            if attempt:
                time.sleep(0.2 * 2**attempt)
            form, auth = self.client.token_request()
            self.token_requests += 1
            try:
                with httpx.Client(timeout=self._timeout) as http:
                    response = http.post(
                        self.client.token_url,
                        data=form,
                        auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
                        headers={"Accept": "application/json"},
                    )
            except httpx.TimeoutException:
                last = SynclineError("ConnectionTimeout", endpoint=endpoint, seconds=self._timeout)
                continue
            except httpx.TransportError as err:
                last = SynclineError(
                    "ConnectionUnreachable", endpoint=endpoint, detail=type(err).__name__
                )
                continue
            if response.status_code >= 500:
                last = SynclineError(
                    "TokenEndpointFailed", endpoint=endpoint, detail=f"HTTP {response.status_code}"
                )
                continue
            return self._parse(response)
        assert last is not None
        raise last

    def _parse(self, response: httpx.Response) -> tuple[str, float]:
        endpoint = self.client.endpoint
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise SynclineError(
                "TokenEndpointFailed",
                endpoint=endpoint,
                detail=f"HTTP {response.status_code} without a JSON object",
            )
        if response.status_code != 200:
            error = str(body.get("error", ""))
            if response.status_code == 401 or error in _REJECTED_CLIENT:
                raise SynclineError(
                    "AuthenticationFailed", endpoint=endpoint, secret=self.client.secret_name
                )
            # error is an RFC 6749 code (invalid_scope, ...): a word, never a credential.
            detail = error if error.replace("_", "").isalnum() else "an error"
            raise SynclineError(
                "TokenEndpointFailed",
                endpoint=endpoint,
                detail=f"HTTP {response.status_code} {detail}",
            )
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise SynclineError("TokenEndpointFailed", endpoint=endpoint, detail="no access_token")
        expires_in = body.get("expires_in")
        lifetime = (
            float(expires_in)
            if isinstance(expires_in, int | float) and expires_in > 0
            else DEFAULT_TOKEN_SECONDS
        )
        return token, lifetime
