"""Tasks: what moves from one entity to another, and how fields are mapped and transformed.

Templates and projects share these models; a project's effective tasks are its
template's tasks merged with its own (see ``syncline.api.merge``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field, JsonValue, model_validator
from pydantic.config import JsonDict

from syncline.api.base import NAME_PATTERN, ApiModel

MAX_TASKS = 50
MAX_MAPPINGS = 200
MAX_TRANSFORMS = 10
"""Bounds keep objects small and let the API server budget the CEL rules on each item."""

LIST_MAP_BY_NAME: JsonDict = {
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["name"],
}
LIST_MAP_BY_DESTINATION: JsonDict = {
    "x-kubernetes-list-type": "map",
    "x-kubernetes-list-map-keys": ["destination"],
}


class TransformType(StrEnum):
    """The per-field transforms, applied in order after the optional SQL step."""

    DEFAULT = "default"
    VALUE_MAP = "valueMap"
    TRIM = "trim"
    UPPER = "upper"
    LOWER = "lower"
    CONCAT = "concat"
    SPLIT = "split"
    EXTRACT = "extract"
    CAST = "cast"
    DATE_FORMAT = "dateFormat"
    ARITHMETIC = "arithmetic"
    ORG_UNIT = "orgUnit"


class CastTarget(StrEnum):
    """Types a cast transform converts to."""

    STRING = "string"
    INTEGER = "integer"
    FLOAT = "float"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"


class ArithmeticOp(StrEnum):
    """Operators of the arithmetic transform."""

    ADD = "add"
    SUBTRACT = "subtract"
    MULTIPLY = "multiply"
    DIVIDE = "divide"
    ROUND = "round"


_REQUIRED_PARAMS: dict[TransformType, tuple[str, ...]] = {
    TransformType.DEFAULT: ("value",),
    TransformType.VALUE_MAP: ("map",),
    TransformType.CONCAT: ("fields",),
    TransformType.SPLIT: ("separator", "index"),
    TransformType.EXTRACT: ("pattern",),
    TransformType.CAST: ("to",),
    TransformType.DATE_FORMAT: ("format",),
    TransformType.ARITHMETIC: ("op", "operand"),
}
TRANSFORM_RULES: list[JsonValue] = [
    {
        "rule": f"self.type != '{t.value}' || ({' && '.join(f'has(self.{p})' for p in ps)})",
        "message": f"a {t.value} transform needs {', '.join(ps)}",
    }
    for t, ps in _REQUIRED_PARAMS.items()
]


class Transform(ApiModel):
    """One step applied to a field's value. Which parameters apply depends on the type."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": TRANSFORM_RULES})

    type: TransformType
    """The transform: default, valueMap, trim, upper, lower, concat, split, extract, cast,
    dateFormat, arithmetic or orgUnit."""
    value: str | None = None
    """default: the value used when the field is empty."""
    map: dict[str, str] | None = None
    """valueMap: source value -> destination value."""
    fallback: str | None = None
    """valueMap: value for unmapped inputs; without it an unmapped value is a row error."""
    fields: list[str] | None = None
    """concat: further source fields appended to the value, in order."""
    separator: str | None = None
    """concat: text put between parts (default empty); split: the delimiter."""
    index: int | None = None
    """split: which part to keep (0-based; negative counts from the end)."""
    pattern: str | None = None
    """extract: regular expression; the first capture group (or whole match) is kept."""
    to: CastTarget | None = None
    """cast: the target type; a value that cannot be converted is a row error."""
    format: str | None = None
    """dateFormat: strftime pattern the timestamp is rendered with (e.g. %Y-%m-%d)."""
    op: ArithmeticOp | None = None
    """arithmetic: add, subtract, multiply, divide or round."""
    operand: float | None = None
    """arithmetic: the number to apply (for round: the number of decimals)."""

    @model_validator(mode="after")
    def _parameters_present(self) -> Transform:
        missing = [p for p in _REQUIRED_PARAMS.get(self.type, ()) if getattr(self, p) is None]
        if missing:
            raise ValueError(f"transform {self.type.value} needs {', '.join(missing)}")
        return self


class Mapping(ApiModel):
    """Fill one destination field from a source field or a constant, then transform it."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!(has(self.source) && has(self.constant))",
                    "message": "a mapping takes either source or constant, not both",
                }
            ]
        }
    )

    destination: str = Field(min_length=1)
    """Destination field name."""
    source: str | None = None
    """Source field name (after the SQL step, if any)."""
    constant: str | None = None
    """A constant value instead of a source field."""
    transforms: list[Transform] = Field(default_factory=list, max_length=MAX_TRANSFORMS)
    """Transforms applied in order to the value."""

    @model_validator(mode="after")
    def _one_origin(self) -> Mapping:
        if self.source is not None and self.constant is not None:
            raise ValueError("a mapping takes either source or constant, not both")
        return self


class Incremental(ApiModel):
    """Change tracking: read only records changed since the last committed watermark."""

    cursor_field: str = Field(min_length=1)
    """A source field that grows whenever a record changes (e.g. modified_at)."""


class SourceSpec(ApiModel):
    """Where a task reads."""

    connection: str = Field(min_length=1)
    """Alias of the connection in the project's ConnectionSet."""
    entity: str = Field(min_length=1)
    """Entity (table, view, file, entity set) to read."""
    incremental: Incremental | None = None
    """Read only changed records; absent means a full read every run."""


class DestinationSpec(ApiModel):
    """Where a task writes (always an upsert by integration keys)."""

    connection: str = Field(min_length=1)
    """Alias of the connection in the project's ConnectionSet."""
    entity: str = Field(min_length=1)
    """Entity to upsert into."""
    keys: Annotated[list[str], Field(min_length=1)] | None = None
    """Integration keys; the ConnectionSet's keys for this entity when absent."""


MAX_SCALE_OUT_PODS = 32


class ScaleOut(ApiModel):
    """Split one task over several pods of one Indexed Job.

    Each pod reads a disjoint range of ``key`` (an integer source field): the ranges are
    computed once per run from the field's smallest and largest value and kept in the
    run's status, so every pod, and every retry of a pod, reads the same range. The run's
    counts are the sum of the pods'; the incremental watermark moves only once every
    pod's range is committed.
    """

    pods: Annotated[int, Field(ge=2, le=MAX_SCALE_OUT_PODS)]
    """How many pods share the task."""
    key: str = Field(min_length=1)
    """The integer source field the ranges split (ideally indexed)."""


class Task(ApiModel):
    """One source entity to one destination entity, with field mappings."""

    name: str = Field(pattern=NAME_PATTERN, max_length=63)
    """Task name, unique in the project."""
    source: SourceSpec | None = None
    """Where to read. Required unless a template task of the same name provides it."""
    destination: DestinationSpec | None = None
    """Where to write. Required unless a template task of the same name provides it."""
    query: str | None = None
    """Optional SQL over the source records, table name `source` (DuckDB dialect): filter
    rows, add conditional columns, split or remove columns, remove duplicates."""
    mappings: list[Mapping] = Field(
        default_factory=list, max_length=MAX_MAPPINGS, json_schema_extra=LIST_MAP_BY_DESTINATION
    )
    """Field mappings; when empty, fields are copied by equal name."""
    scale_out: ScaleOut | None = None
    """Run this task on several pods at once (the project's only task, without a SQL
    step)."""

    def field_origins(self) -> list[str]:
        """Source fields the mappings read (for validation against the catalog)."""
        names: list[str] = []
        for m in self.mappings:
            if m.source:
                names.append(m.source)
            for t in m.transforms:
                names.extend(t.fields or [])
        return names


def dump_tasks(tasks: list[Task]) -> list[dict[str, Any]]:
    """Tasks as wire dicts (camelCase, unset omitted)."""
    return [t.to_wire() for t in tasks]
