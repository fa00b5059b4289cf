"""Connectors, one module per system, chosen by ConnectionType."""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from syncline.api.connection import ConnectionSpec, ConnectionType
from syncline.engine.connectors.base import Connector, Sink, Source
from syncline.errors import SynclineError

_MODULES: dict[ConnectionType, str] = {
    ConnectionType.POSTGRESQL: "syncline.engine.connectors.postgres:PostgresConnector",
    ConnectionType.MYSQL: "syncline.engine.connectors.mysql:MySQLConnector",
    ConnectionType.SQLITE: "syncline.engine.connectors.sqlite:SqliteConnector",
    ConnectionType.FILE: "syncline.engine.connectors.files:FileConnector",
    ConnectionType.ODATA: "syncline.engine.connectors.odata:OdataConnector",
    ConnectionType.REST: "syncline.engine.connectors.rest:RestConnector",
}


def open_connector(
    spec: ConnectionSpec, credentials: Mapping[str, str], *, timeout_seconds: float
) -> Connector:
    """The connector for ``spec`` (not yet connected: connecting happens on first use).

    odata and rest are declared in the API but have no connector yet; saying so with
    2002 is more honest than pretending to sync them.
    """
    target = _MODULES.get(spec.type)
    if target is None:
        raise SynclineError("UnsupportedConnectionType", type=spec.type.value, detail=" yet")
    module_name, cls_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    connector: Connector = cls(spec, credentials, timeout_seconds=timeout_seconds)
    return connector


def open_source(
    spec: ConnectionSpec, credentials: Mapping[str, str], *, timeout_seconds: float
) -> Source:
    """A connector that can read."""
    connector = open_connector(spec, credentials, timeout_seconds=timeout_seconds)
    if not isinstance(connector, Source) or not connector.capabilities.source:
        raise SynclineError(
            "UnsupportedConnectionType", type=spec.type.value, detail=" as a source"
        )
    return connector


def open_sink(
    spec: ConnectionSpec, credentials: Mapping[str, str], *, timeout_seconds: float
) -> Sink:
    """A connector that can write."""
    connector = open_connector(spec, credentials, timeout_seconds=timeout_seconds)
    if not isinstance(connector, Sink) or not connector.capabilities.sink:
        raise SynclineError(
            "UnsupportedConnectionType", type=spec.type.value, detail=" as a destination"
        )
    return connector
