"""Connection: one data system and how to reach it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from syncline.api.base import (
    AGE_COLUMN,
    ApiModel,
    Condition,
    LocalObjectReference,
    Resource,
    ready_column,
    reason_column,
)

MAX_ENTITIES = 200
"""Entities kept in status; a bigger catalog is truncated with a CatalogTruncated note."""
MAX_FIELDS = 300
"""Fields kept per entity in status."""


class ConnectionType(StrEnum):
    """The kinds of data systems Syncline connects to."""

    POSTGRESQL = "postgresql"
    MYSQL = "mysql"
    SQLITE = "sqlite"
    FILE = "file"
    ODATA = "odata"
    REST = "rest"


REQUIRED_SECRET_KEYS: dict[ConnectionType, tuple[str, ...]] = {
    ConnectionType.POSTGRESQL: ("username", "password"),
    ConnectionType.MYSQL: ("username", "password"),
    ConnectionType.SQLITE: (),
    ConnectionType.FILE: (),
    ConnectionType.ODATA: ("token",),
    ConnectionType.REST: ("token",),
}
"""Secret keys each connection type needs when it names a Secret."""


class Endpoint(ApiModel):
    """Where the data system is. Which fields apply depends on the connection type."""

    host: str | None = None
    """Host name or address (postgresql, mysql)."""
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    """TCP port (postgresql, mysql); the type's default port when absent."""
    database: str | None = None
    """Database name (postgresql, mysql)."""
    schema_name: str | None = Field(default=None, alias="schema")
    """Schema holding the entities (postgresql); public when absent."""
    path: str | None = None
    """File or directory path (sqlite, file)."""
    url: str | None = None
    """Base URL of the service (odata, rest)."""


class SecretCredentials(ApiModel):
    """Credentials by reference only: Syncline never copies secret values anywhere."""

    secret_ref: LocalObjectReference
    """The Secret in this namespace holding the credential keys (for example username and
    password for databases, token for odata and rest)."""


class FileFormat(StrEnum):
    """File formats the file connector reads and writes."""

    CSV = "csv"
    JSONL = "jsonl"
    PARQUET = "parquet"


class ConnectionOptions(ApiModel):
    """Tuning knobs of the connection."""

    ssl_mode: (
        Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] | None
    ) = None
    """TLS mode for database connections (postgresql semantics)."""
    connect_timeout_seconds: Annotated[int, Field(ge=1, le=300)] = 10
    """How long a connection attempt may take before the endpoint counts as unreachable."""
    format: FileFormat | None = None
    """File format (file connections); guessed from the file extension when absent."""
    batch_size: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    """Records per batch read or written; the engine's default when absent."""


class ConnectionSpec(ApiModel):
    """The desired state of a Connection."""

    type: ConnectionType
    """Which kind of data system this is."""
    environment: str | None = None
    """Free-form environment label (development, production, ...) shown in ConnectionSets."""
    endpoint: Endpoint
    """Where the data system is."""
    credentials: SecretCredentials | None = None
    """The Secret with the credentials; omit for systems that need none (sqlite, file)."""
    options: ConnectionOptions = Field(default_factory=ConnectionOptions)
    """Tuning knobs."""


class EntityField(ApiModel):
    """One field (column) of a discovered entity."""

    name: str
    """Field name."""
    type: str
    """Type as the data system names it."""
    nullable: bool = True
    """Whether the field may be empty."""


class Entity(ApiModel):
    """One discovered entity (table, view, file or entity set) and its fields."""

    name: str
    """Entity name, as tasks refer to it."""
    fields: list[EntityField] = Field(default_factory=list, max_length=MAX_FIELDS)
    """The entity's fields."""
    unique_keys: list[list[str]] = Field(default_factory=list, max_length=20)
    """Field sets with a unique index or primary key (upserts need one covering the keys)."""


class ConnectionStatus(ApiModel):
    """The observed state of a Connection."""

    observed_generation: int | None = None
    """The metadata.generation this status describes."""
    conditions: list[Condition] = Field(default_factory=list)
    """Ready tells whether the system is reachable with the given credentials."""
    last_check_time: datetime | None = None
    """When the connection was last tested."""
    entity_count: int | None = None
    """How many entities the system has (status lists at most 200)."""
    entities: list[Entity] = Field(default_factory=list, max_length=MAX_ENTITIES)
    """The discovered entity catalog ("Refresh entities"); refreshed periodically and when
    the syncline.dev/refresh annotation changes."""


class Connection(Resource):
    """A data system and a reference to the Secret that holds its credentials."""

    KIND: ClassVar[str] = "Connection"
    PLURAL: ClassVar[str] = "connections"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("sconn",)
    PRINTER_COLUMNS: ClassVar[tuple[dict[str, str], ...]] = (
        {"name": "Type", "type": "string", "jsonPath": ".spec.type"},
        {"name": "Environment", "type": "string", "jsonPath": ".spec.environment"},
        ready_column(),
        {"name": "Entities", "type": "integer", "jsonPath": ".status.entityCount"},
        reason_column(),
        AGE_COLUMN,
    )

    kind: Literal["Connection"] = "Connection"
    spec: ConnectionSpec
    status: ConnectionStatus | None = None


CREDENTIAL_ENV_PREFIX = "SYNCLINE_CRED_"
"""Every credential environment variable of a run pod starts with this."""


def credential_env_var(alias: str, key: str) -> str:
    """The environment variable carrying credential ``key`` of the set member ``alias``.

    The CronJob builder fills it from the Secret with ``secretKeyRef``; the engine reads it.
    One name scheme shared by both keeps the two sides from drifting apart.
    """
    clean = "".join(c if c.isalnum() else "_" for c in f"{alias}_{key}")
    return f"{CREDENTIAL_ENV_PREFIX}{clean.upper()}"


def credential_env_values(env: Mapping[str, str]) -> list[str]:
    """Every credential value in ``env`` (the variables ``credential_env_var`` names).

    A run pod gets exactly its ConnectionSet's credentials this way, so these are the
    secret values its output must never show, known before anything is resolved.
    """
    return [value for name, value in env.items() if name.startswith(CREDENTIAL_ENV_PREFIX)]
