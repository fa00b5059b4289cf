"""Shared pytest set-up. Fixtures live in tests/fixtures/, one module per real component."""

from __future__ import annotations

pytest_plugins = [
    "tests.fixtures.databases",
    "tests.fixtures.cluster",
    "tests.fixtures.toxiproxy",
    "tests.fixtures.notifications",
]
