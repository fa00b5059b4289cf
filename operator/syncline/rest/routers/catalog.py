"""The error catalog, so clients can show what a code means."""

from __future__ import annotations

from fastapi import APIRouter

from syncline.errors import CATALOG
from syncline.rest.deps import CallerDep
from syncline.rest.models import CatalogEntry

router = APIRouter(tags=["errors"])


@router.get("/api/v1/errors", response_model=list[CatalogEntry], summary="The error catalog")
def catalog(_: CallerDep) -> list[CatalogEntry]:
    """Every code Syncline reports (authenticated; it touches no cluster resource)."""
    return [
        CatalogEntry(
            code=e.code,
            name=e.name,
            http_status=e.http_status,
            category=e.category.value,
            message=e.message,
        )
        for e in sorted(CATALOG, key=lambda e: e.code)
    ]
