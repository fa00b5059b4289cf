"""Shared pytest set-up. Fixtures live in tests/fixtures/, one module per real component."""

from __future__ import annotations

pytest_plugins = [
    "tests.fixtures.databases",
    "tests.fixtures.cluster",
    "tests.fixtures.toxiproxy",
    "tests.fixtures.oauth",
    "tests.fixtures.rest_server",
    "tests.fixtures.odata",
    "tests.fixtures.throttle_proxy",
    "tests.fixtures.notifications",
    "tests.fixtures.syslog",
]
