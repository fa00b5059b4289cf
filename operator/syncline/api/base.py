"""Shared building blocks of every Syncline resource model.

The pydantic models in this package are the one definition of the API: the CRD
schemas in ``crds/`` are generated from them (``syncline.api.crdgen``), and the
operator, engine and CLI parse resources with them. Field docstrings become the
schema descriptions that ``kubectl explain`` prints, so write them for users.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

GROUP = "syncline.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
"""A DNS-1123 label: what Kubernetes accepts as a name of most objects."""


class ApiModel(BaseModel):
    """Base of every spec/status model: camelCase on the wire, unknown fields rejected."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        use_attribute_docstrings=True,
        validate_assignment=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON-compatible dict Kubernetes stores: camelCase, unset fields omitted."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_unset=True)


class LocalObjectReference(ApiModel):
    """A reference to another object in the same namespace."""

    name: str = Field(min_length=1, max_length=253)
    """Name of the referenced object."""


class Condition(ApiModel):
    """One aspect of the resource's state, following the Kubernetes API conventions."""

    type: str
    """Condition type: Ready, Reconciling, Stalled or LastRunSucceeded."""
    status: Literal["True", "False", "Unknown"]
    """Whether the condition holds."""
    reason: str
    """CamelCase reason, for programs; event reasons reuse it."""
    message: str = ""
    """Human-readable detail; failures start with the error code and name."""
    observed_generation: int | None = None
    """The metadata.generation this condition was computed for."""
    last_transition_time: datetime | None = None
    """When the status last changed."""


class ObjectMeta(BaseModel):
    """The parts of Kubernetes object metadata Syncline reads; the rest is preserved."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, alias_generator=to_camel)

    name: str | None = None
    namespace: str | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    generation: int | None = None
    uid: str | None = None


class Resource(BaseModel):
    """A whole Kubernetes object of one Syncline kind: apiVersion, kind, metadata, spec, status.

    Subclasses set ``spec`` and ``status`` to their models and describe the CRD
    (names, scope, printer columns) in class variables read by ``crdgen``.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    KIND: ClassVar[str]
    PLURAL: ClassVar[str]
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ()
    NAMESPACED: ClassVar[bool] = True
    PRINTER_COLUMNS: ClassVar[tuple[dict[str, str], ...]] = ()

    api_version: Literal["syncline.dev/v1alpha1"] = Field(
        "syncline.dev/v1alpha1", alias="apiVersion"
    )
    kind: str
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)

    def to_wire(self) -> dict[str, Any]:
        """The object as Kubernetes stores it (unset fields omitted, apiVersion and kind set)."""
        wire = self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_unset=True)
        return {"apiVersion": self.api_version, "kind": self.kind, **wire}


def ready_column() -> dict[str, str]:
    """The printer column every kind shows first: the Ready condition's status."""
    return {
        "name": "Ready",
        "type": "string",
        "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
    }


def reason_column() -> dict[str, str]:
    """The Ready condition's reason, so `kubectl get` shows why something is not Ready."""
    return {
        "name": "Reason",
        "type": "string",
        "jsonPath": '.status.conditions[?(@.type=="Ready")].reason',
    }


AGE_COLUMN = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
