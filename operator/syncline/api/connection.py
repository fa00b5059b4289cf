"""Connection: one data system and how to reach it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field, JsonValue

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
"""Secret keys each connection type needs when it names a Secret (without ``auth``)."""


class HttpAuthType(StrEnum):
    """How an HTTP connection (odata, rest) authenticates each request."""

    BEARER = "bearer"
    BASIC = "basic"
    OAUTH2_CLIENT_CREDENTIALS = "oauth2ClientCredentials"


class ClientAuthentication(StrEnum):
    """How an OAuth2 client proves its identity to the token endpoint (RFC 6749, 7523)."""

    CLIENT_SECRET_BASIC = "clientSecretBasic"  # noqa: S105 - a method name
    CLIENT_SECRET_POST = "clientSecretPost"  # noqa: S105 - a method name
    PRIVATE_KEY_JWT = "privateKeyJwt"


HTTP_AUTH_SECRET_KEYS: dict[HttpAuthType, tuple[str, ...]] = {
    HttpAuthType.BEARER: ("token",),
    HttpAuthType.BASIC: ("username", "password"),
    HttpAuthType.OAUTH2_CLIENT_CREDENTIALS: ("clientId", "clientSecret"),
}
"""Secret keys each HTTP auth type needs (oauth2 with a secret; privateKeyJwt differs)."""
PRIVATE_KEY_JWT_SECRET_KEYS = ("clientId", "tls.crt", "tls.key")
"""The certificate variant: the key signs the client assertion, the certificate names it."""

_OAUTH2 = HttpAuthType.OAUTH2_CLIENT_CREDENTIALS.value
HTTP_AUTH_RULES: list[JsonValue] = [
    {
        "rule": f"self.type != '{_OAUTH2}' || has(self.tokenUrl)",
        "message": "2030 HttpAuthInvalid: oauth2ClientCredentials needs tokenUrl",
        "fieldPath": ".tokenUrl",
    },
    {
        "rule": f"self.type == '{_OAUTH2}' || "
        "(!has(self.tokenUrl) && !has(self.scope) && !has(self.clientAuthentication))",
        "message": "2030 HttpAuthInvalid: tokenUrl, scope and clientAuthentication"
        " go with oauth2ClientCredentials",
        "fieldPath": ".type",
    },
    {
        "rule": "!has(self.tokenUrl) || self.tokenUrl.startsWith('https://')"
        " || self.tokenUrl.startsWith('http://')",
        "message": "2030 HttpAuthInvalid: tokenUrl must be an http(s) URL",
        "fieldPath": ".tokenUrl",
    },
]
"""CEL rules of ``credentials.auth``: the API server refuses a half-configured OAuth2."""


class HttpAuth(ApiModel):
    """How an odata or rest connection uses its Secret to authenticate.

    It sits under ``credentials`` rather than ``options`` because it only says how to use
    the Secret: without a Secret there is nothing to authenticate with, and the Secret keys
    the operator checks follow from it. Absent, odata and rest send ``token`` as a bearer.
    """

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": HTTP_AUTH_RULES})

    type: HttpAuthType = HttpAuthType.BEARER
    """bearer (Secret key token), basic (username, password) or oauth2ClientCredentials
    (clientId with clientSecret, or with tls.crt and tls.key for privateKeyJwt)."""
    token_url: Annotated[str, Field(max_length=2048)] | None = None
    """oauth2ClientCredentials: the authorization server's token endpoint."""
    scope: Annotated[str, Field(max_length=1024)] | None = None
    """oauth2ClientCredentials: space-separated scopes to request; none when absent."""
    client_authentication: ClientAuthentication | None = None
    """oauth2ClientCredentials: clientSecretBasic (the default), clientSecretPost, or
    privateKeyJwt (an RS256 assertion signed with the Secret's tls.key, RFC 7523)."""


def required_secret_keys(spec: ConnectionSpec) -> tuple[str, ...]:
    """The Secret keys ``spec`` needs: by its auth type when it has one, else by its type.

    Every reader of Secrets (operator check, CronJob env, local resolve) asks this one
    function, so a connection never gets fewer keys than its connector uses.
    """
    auth = spec.credentials.auth if spec.credentials else None
    if auth is None or spec.type not in (ConnectionType.ODATA, ConnectionType.REST):
        return REQUIRED_SECRET_KEYS[spec.type]
    if auth.client_authentication is ClientAuthentication.PRIVATE_KEY_JWT:
        return PRIVATE_KEY_JWT_SECRET_KEYS
    return HTTP_AUTH_SECRET_KEYS[auth.type]


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
    auth: HttpAuth | None = None
    """odata and rest: how the Secret's keys authenticate (bearer token when absent)."""


class FileFormat(StrEnum):
    """File formats the file connector reads and writes."""

    CSV = "csv"
    JSONL = "jsonl"
    PARQUET = "parquet"


class RestPaginationStyle(StrEnum):
    """How a REST API hands out the pages of a collection."""

    NONE = "none"
    NEXT_LINK = "nextLink"
    LINK_HEADER = "linkHeader"
    PAGE_NUMBER = "pageNumber"
    OFFSET = "offset"
    CURSOR = "cursor"


class RestPagination(ApiModel):
    """How to get from one page to the next; parameter names have common defaults."""

    style: RestPaginationStyle = RestPaginationStyle.NONE
    """none (one response), nextLink (a URL in the body at nextPath), linkHeader (RFC 8288
    rel="next"), pageNumber, offset, or cursor (a token in the body at nextPath)."""
    page_size: Annotated[int, Field(ge=1, le=100_000)] | None = None
    """Records asked per page (sent as pageSizeParam); the server's page size when absent."""
    page_size_param: Annotated[str, Field(max_length=100)] = "limit"
    """The query parameter carrying pageSize."""
    page_param: Annotated[str, Field(max_length=100)] = "page"
    """pageNumber: the query parameter carrying the page number."""
    first_page: Annotated[int, Field(ge=0, le=1)] = 1
    """pageNumber: the number of the first page."""
    offset_param: Annotated[str, Field(max_length=100)] = "offset"
    """offset: the query parameter carrying the number of records to skip."""
    cursor_param: Annotated[str, Field(max_length=100)] = "cursor"
    """cursor: the query parameter carrying the token of the next page."""
    next_path: Annotated[str, Field(max_length=200)] | None = None
    """nextLink / cursor: dotted path of the next URL / token in the body (default next /
    nextCursor); absent, null or empty there means the last page."""


class RestFieldType(StrEnum):
    """JSON value types a REST field may declare (JSON has no dates: they are strings)."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"
    DATE = "date"


class RestField(ApiModel):
    """One field of a REST entity: a top-level member of each record."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    """The member name in the JSON record."""
    type: RestFieldType = RestFieldType.STRING
    """string, integer, number, boolean, timestamp (ISO 8601 text) or date."""
    nullable: bool = True
    """Whether records may omit the member or send null."""


class RestUpsert(ApiModel):
    """How one record is created or replaced: a request to the record's own URL."""

    path: Annotated[str, Field(min_length=1, max_length=1000)]
    """The record's path relative to endpoint.url, with each key field in braces (for
    example v1/customers/{id}); the values are URL-encoded. GET on it reads the record
    (404: absent) so unchanged records are not sent."""
    method: Literal["PUT", "PATCH"] = "PUT"
    """PUT (replace, the default) or PATCH (merge), with the record as the JSON body."""


class RestEntity(ApiModel):
    """One collection of a REST API, declared because REST has no metadata to discover.

    Declared rather than inferred from a sample page: a page may be empty or lack optional
    members, and the operator must validate mappings against a catalog before data moves.
    """

    name: Annotated[str, Field(min_length=1, max_length=200)]
    """The entity name tasks use."""
    path: Annotated[str, Field(min_length=1, max_length=1000)]
    """The collection's path relative to endpoint.url (for example v1/customers)."""
    fields: Annotated[list[RestField], Field(min_length=1, max_length=300)]
    """The fields read from each record (members not listed are ignored)."""
    key: list[str] = Field(default_factory=list, max_length=10)
    """Fields that identify a record (shown as the entity's unique key)."""
    records_path: Annotated[str, Field(max_length=200)] | None = None
    """Dotted path of the records array in each response, overriding options.rest's."""
    pagination: RestPagination | None = None
    """How this collection pages, overriding options.rest's."""
    params: dict[str, str] = Field(default_factory=dict, max_length=20)
    """Fixed query parameters sent with every request of this collection."""
    upsert: RestUpsert | None = None
    """Makes the entity a destination: where each record is written (compare first)."""
    cursor_param: Annotated[str, Field(max_length=100)] | None = None
    """Incremental reads: the query parameter the watermark is sent in so the server
    filters (records past it are still checked client-side); absent, every page is
    read and filtered client-side."""


class RestOptions(ApiModel):
    """The REST JSON connector's view of an API: records path, paging and entities."""

    records_path: Annotated[str, Field(max_length=200)] | None = None
    """Dotted path of the records array in each response (for example data.items); the
    body itself is the array when absent."""
    pagination: RestPagination = Field(default_factory=RestPagination)
    """How collections page, unless an entity says otherwise."""
    entities: list[RestEntity] = Field(default_factory=list, max_length=200)
    """The collections this connection offers."""
    state_path: Annotated[str, Field(max_length=1000)] | None = None
    """As a destination: where watermarks are kept, with {scope} in it (GET and PUT of
    {"value": ...}); absent, incremental runs into this API start from scratch."""
    rejects_path: Annotated[str, Field(max_length=1000)] | None = None
    """As a destination: where each rejected row is POSTed (task, key, field, code,
    message); absent, rejects are in the run's record only."""


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
    max_page_size: Annotated[int, Field(ge=1, le=100_000)] | None = None
    """odata: records per page asked of the server (Prefer: odata.maxpagesize); the
    server's own page size when absent."""
    batch_operations: Annotated[int, Field(ge=1, le=1000)] = 100
    """odata: write operations per $batch request (1 sends one request per row)."""
    parallelism: Annotated[int, Field(ge=1, le=32)] = 4
    """odata, rest: requests in flight at once; all wait together on a Retry-After."""
    max_retries: Annotated[int, Field(ge=0, le=20)] = 5
    """odata, rest: new attempts of a request after 429/503 or a transient failure."""
    state_entity_set: Annotated[str, Field(max_length=128)] | None = None
    """odata destination: entity set (key scope, field watermark, both strings) where
    incremental watermarks are kept; without it none is kept and every run reads its
    source in full (unchanged records are still not sent)."""
    rejects_entity_set: Annotated[str, Field(max_length=128)] | None = None
    """odata destination: entity set (Guid key id; entitySet, task, rowKey, field,
    message strings; code integer; rejectedAt timestamp) receiving rejected rows; without
    it rejects are only reported in the run."""
    rest: RestOptions | None = None
    """rest: where records are in responses, how pages follow, and the declared entities."""


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
