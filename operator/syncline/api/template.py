"""IntegrationTemplate and ClusterIntegrationTemplate: reusable blueprints of tasks."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from syncline.api.base import AGE_COLUMN, ApiModel, Condition, Resource, ready_column
from syncline.api.connection import ConnectionType
from syncline.api.task import LIST_MAP_BY_NAME, MAX_TASKS, Task


class IntegrationTemplateSpec(ApiModel):
    """A blueprint: which kinds of systems it connects and the tasks it predefines."""

    description: str | None = None
    """What the template is for."""
    source_type: ConnectionType | None = None
    """Connection type the template reads from (checked against a project's set)."""
    destination_type: ConnectionType | None = None
    """Connection type the template writes to."""
    tasks: list[Task] = Field(
        default_factory=list, max_length=MAX_TASKS, json_schema_extra=LIST_MAP_BY_NAME
    )
    """Predefined tasks with entity and field mappings; a blank template has none."""


class IntegrationTemplateStatus(ApiModel):
    """The observed state of a template."""

    observed_generation: int | None = None
    """The metadata.generation this status describes."""
    conditions: list[Condition] = Field(default_factory=list)
    """Ready when the template's tasks are well formed."""
    task_count: int | None = None
    """How many tasks the template predefines."""
    last_validated_time: datetime | None = None
    """When the template was last validated."""


class _TemplateColumns:
    PRINTER_COLUMNS: ClassVar[tuple[dict[str, str], ...]] = (
        {"name": "Source", "type": "string", "jsonPath": ".spec.sourceType"},
        {"name": "Destination", "type": "string", "jsonPath": ".spec.destinationType"},
        {"name": "Tasks", "type": "integer", "jsonPath": ".status.taskCount"},
        ready_column(),
        AGE_COLUMN,
    )


class IntegrationTemplate(_TemplateColumns, Resource):
    """A reusable blueprint of tasks, visible in its namespace."""

    KIND: ClassVar[str] = "IntegrationTemplate"
    PLURAL: ClassVar[str] = "integrationtemplates"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("itmpl",)

    kind: Literal["IntegrationTemplate"] = "IntegrationTemplate"
    spec: IntegrationTemplateSpec
    status: IntegrationTemplateStatus | None = None


class ClusterIntegrationTemplate(_TemplateColumns, Resource):
    """A reusable blueprint of tasks shared with the whole organisation (cluster-scoped)."""

    KIND: ClassVar[str] = "ClusterIntegrationTemplate"
    PLURAL: ClassVar[str] = "clusterintegrationtemplates"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("citmpl",)
    NAMESPACED: ClassVar[bool] = False

    kind: Literal["ClusterIntegrationTemplate"] = "ClusterIntegrationTemplate"
    spec: IntegrationTemplateSpec
    status: IntegrationTemplateStatus | None = None
