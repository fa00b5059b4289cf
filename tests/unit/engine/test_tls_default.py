"""The default TLS mode: required off the machine, preferred on loopback, spec wins."""

from __future__ import annotations

import pytest

from syncline.api.connection import ConnectionSpec
from syncline.engine.connectors.tls import ssl_mode


def _spec(host: str, mode: str | None = None) -> ConnectionSpec:
    return ConnectionSpec.model_validate(
        {
            "type": "postgresql",
            "endpoint": {"host": host, "database": "app"},
            "options": {"sslMode": mode} if mode else {},
        }
    )


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("db.example.com", "require"),
        ("10.213.0.2", "require"),
        ("postgres.team-a.svc", "require"),
        ("2001:db8::1", "require"),
        ("localhost", "prefer"),
        ("127.0.0.1", "prefer"),
        ("127.8.9.10", "prefer"),
        ("::1", "prefer"),
        ("[::1]", "prefer"),
        ("/var/run/postgresql", "prefer"),
    ],
)
def test_off_machine_endpoints_require_tls_by_default(host: str, expected: str) -> None:
    assert ssl_mode(_spec(host)) == expected


def test_the_spec_always_wins() -> None:
    assert ssl_mode(_spec("db.example.com", "disable")) == "disable"
    assert ssl_mode(_spec("localhost", "verify-full")) == "verify-full"
