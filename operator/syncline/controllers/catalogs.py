"""Reading a Connection's discovered catalog out of its status (for sets and projects)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncline.api.connection import Entity


class Catalog:
    """The entities a Connection reported, and whether the list is complete."""

    def __init__(self, connection: Mapping[str, Any] | None) -> None:
        status = (connection or {}).get("status") or {}
        self.entities = {e["name"]: Entity.model_validate(e) for e in status.get("entities") or []}
        count = status.get("entityCount")
        self.complete = count is None or count <= len(self.entities)

    def get(self, name: str) -> Entity | None:
        """The entity, or None when it does not exist (or lies beyond a truncated catalog)."""
        return self.entities.get(name)

    def knows_missing(self, name: str) -> bool:
        """True only when ``name`` is certainly absent: a truncated catalog cannot tell."""
        return name not in self.entities and self.complete

    @staticmethod
    def field_names(entity: Entity) -> set[str]:
        return {f.name for f in entity.fields}
