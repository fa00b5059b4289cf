"""What the operator asks of a data system: can we reach it, and what entities does it have.

These two calls run in the operator process (not in run pods), so they take a timeout
and never put credential values into the errors they raise.
"""

from __future__ import annotations

from collections.abc import Mapping

from syncline.api.connection import ConnectionSpec, Entity
from syncline.engine.connectors import open_connector


def check_connection(
    spec: ConnectionSpec, credentials: Mapping[str, str], *, timeout_seconds: float
) -> None:
    """Return when the system answers with these credentials; else raise 2000-2003."""
    connector = open_connector(spec, credentials, timeout_seconds=timeout_seconds)
    try:
        connector.check()
    finally:
        connector.close()


def discover_entities(
    spec: ConnectionSpec,
    credentials: Mapping[str, str],
    *,
    timeout_seconds: float,
    limit: int = 200,
) -> tuple[list[Entity], int]:
    """Up to ``limit`` entities (fields, unique keys) and how many the system has in all."""
    connector = open_connector(spec, credentials, timeout_seconds=timeout_seconds)
    try:
        connector.check()
        return connector.discover(limit)
    finally:
        connector.close()
