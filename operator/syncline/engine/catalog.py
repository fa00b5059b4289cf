"""What the operator asks of a data system: can we reach it, what entities does it have,
and (for one beyond the catalog's limit) what is this entity.

These calls run in the operator process (not in run pods), so they take a timeout
and never put credential values into the errors they raise.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from syncline.api.connection import ConnectionSpec, Entity
from syncline.engine.connectors import open_connector
from syncline.engine.connectors.base import Connector


@contextmanager
def _checked(
    spec: ConnectionSpec, credentials: Mapping[str, str], timeout_seconds: float
) -> Iterator[Connector]:
    """A connector whose system answered with these credentials (else 2000-2003), closed
    after use."""
    connector = open_connector(spec, credentials, timeout_seconds=timeout_seconds)
    try:
        connector.check()
        yield connector
    finally:
        connector.close()


def check_connection(
    spec: ConnectionSpec, credentials: Mapping[str, str], *, timeout_seconds: float
) -> None:
    """Return when the system answers with these credentials; else raise 2000-2003."""
    with _checked(spec, credentials, timeout_seconds):
        pass


def discover_entities(
    spec: ConnectionSpec,
    credentials: Mapping[str, str],
    *,
    timeout_seconds: float,
    limit: int = 200,
) -> tuple[list[Entity], int]:
    """Up to ``limit`` entities (fields, unique keys) and how many the system has in all."""
    with _checked(spec, credentials, timeout_seconds) as connector:
        return connector.discover(limit)


def describe_entity(
    spec: ConnectionSpec, credentials: Mapping[str, str], entity: str, *, timeout_seconds: float
) -> Entity:
    """One entity's fields and unique keys, as a run would see them; 2004 only when the
    system answers and has no such entity."""
    with _checked(spec, credentials, timeout_seconds) as connector:
        return connector.describe(entity)
