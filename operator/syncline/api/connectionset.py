"""ConnectionSet: two connections paired up, reusable across projects."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from syncline.api.base import (
    AGE_COLUMN,
    NAME_PATTERN,
    ApiModel,
    Condition,
    LocalObjectReference,
    Resource,
    ready_column,
    reason_column,
)


class SetMember(ApiModel):
    """One of the two connections, under the alias tasks use to refer to it."""

    name: str = Field(pattern=NAME_PATTERN, max_length=63)
    """Alias tasks use (source.connection / destination.connection). Keeping aliases stable
    lets a project switch from a development set to a production set by one field."""
    connection_ref: LocalObjectReference
    """The Connection in this namespace."""


class OrganizationMapping(ApiModel):
    """One organization-unit pairing, e.g. legal entity USMF <-> business unit Sales-US."""

    name: str = Field(pattern=NAME_PATTERN, max_length=63)
    """Name projects select with spec.organizationMapping."""
    units: dict[str, str] = Field(min_length=1)
    """Organization unit per connection alias, e.g. {fo: USMF, sales: Sales-US}."""


class IntegrationKey(ApiModel):
    """The fields that identify a record of one entity, used to upsert."""

    connection: str
    """Alias of the connection the entity belongs to."""
    entity: str
    """Entity name."""
    fields: list[str] = Field(min_length=1)
    """Key fields; a record with the same values is updated instead of inserted."""


class ConnectionSetSpec(ApiModel):
    """The desired state of a ConnectionSet."""

    connections: list[SetMember] = Field(
        min_length=2,
        max_length=2,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    """Exactly two connections, in no particular order: each task says which is its source."""
    organization_mappings: list[OrganizationMapping] = Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    """Organization-unit pairings projects choose from."""
    integration_keys: list[IntegrationKey] = Field(default_factory=list)
    """Default integration keys per entity; a task's destination.keys overrides them."""


class MemberStatus(ApiModel):
    """What the operator saw of one member connection."""

    name: str
    """The member's alias."""
    connection: str
    """The Connection's name."""
    type: str | None = None
    """The Connection's type."""
    environment: str | None = None
    """The Connection's environment label."""
    ready: bool = False
    """Whether that Connection is Ready."""


class ConnectionSetStatus(ApiModel):
    """The observed state of a ConnectionSet."""

    observed_generation: int | None = None
    """The metadata.generation this status describes."""
    conditions: list[Condition] = Field(default_factory=list)
    """Ready when both connections are Ready and mappings and keys check out."""
    members: list[MemberStatus] = Field(default_factory=list)
    """The two connections with their types and environments."""
    environments: str | None = None
    """The two environments, e.g. "production -> staging", for kubectl get."""


class ConnectionSet(Resource):
    """Two connections, their organization-unit mappings and integration keys."""

    KIND: ClassVar[str] = "ConnectionSet"
    PLURAL: ClassVar[str] = "connectionsets"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("cset",)
    PRINTER_COLUMNS: ClassVar[tuple[dict[str, str], ...]] = (
        {"name": "Environments", "type": "string", "jsonPath": ".status.environments"},
        ready_column(),
        reason_column(),
        AGE_COLUMN,
    )

    kind: Literal["ConnectionSet"] = "ConnectionSet"
    spec: ConnectionSetSpec
    status: ConnectionSetStatus | None = None
