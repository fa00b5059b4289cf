"""Paging that stays correct while filtering on fields the API server cannot select on.

Runs are filtered by project and trigger with label selectors (on the API server),
but result and time range live in ``status``, which a custom resource cannot be
field-selected on. So a page of the REST API is assembled from chunks of the API
server's own paged list, filtered here. The REST continue token remembers where the
last returned item was: the API server's continue token of that chunk (or the
resourceVersion of the first chunk, read again with ``resourceVersionMatch=Exact``)
plus the offset inside the chunk. Every chunk of one listing therefore comes from
one consistent snapshot: no run is returned twice or skipped, however many runs are
created or deleted while a client pages through.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from syncline.errors import SynclineError

CHUNK = 500
"""Objects read from the API server per call (its own page size)."""


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: a chunk of the snapshot and an offset in it."""

    kube_continue: str = ""
    resource_version: str = ""
    offset: int = 0
    filters: str = ""
    """Fingerprint of the filters the token was issued for."""


@dataclass(frozen=True)
class Chunk:
    items: list[dict[str, Any]]
    kube_continue: str
    resource_version: str


Fetch = Callable[[Cursor, int], Chunk]
"""Read one chunk of at most ``limit`` objects starting at the cursor's chunk."""


def fingerprint(filters: dict[str, Any]) -> str:
    text = json.dumps(filters, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode(cursor: Cursor) -> str:
    raw = json.dumps(asdict(cursor), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(token: str | None, filters: str) -> Cursor:
    """The cursor of a continue token issued for the same filters (1019 otherwise)."""
    if not token:
        return Cursor(filters=filters)
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        cursor = Cursor(**data)
        valid = (
            isinstance(cursor.kube_continue, str)
            and isinstance(cursor.resource_version, str)
            and isinstance(cursor.offset, int)
            and 0 <= cursor.offset < CHUNK
        )
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as err:
        raise SynclineError("ContinueTokenInvalid", detail="not issued by this API") from err
    if not valid:
        raise SynclineError("ContinueTokenInvalid", detail="not issued by this API")
    if cursor.filters != filters:
        raise SynclineError("ContinueTokenInvalid", detail="issued for other filters")
    return cursor


def scan(
    fetch: Fetch,
    keep: Callable[[dict[str, Any]], bool],
    limit: int,
    start: Cursor,
    chunk_size: int = CHUNK,
) -> tuple[list[dict[str, Any]], Cursor | None]:
    """Up to ``limit`` kept objects from ``start`` on, and the cursor after the last one."""
    found: list[dict[str, Any]] = []
    cursor = start
    while True:
        chunk = fetch(cursor, chunk_size)
        here = Cursor(
            cursor.kube_continue,
            cursor.resource_version or chunk.resource_version,
            0,
            start.filters,
        )
        for index in range(cursor.offset, len(chunk.items)):
            if not keep(chunk.items[index]):
                continue
            found.append(chunk.items[index])
            if len(found) < limit:
                continue
            if index + 1 < len(chunk.items):
                return found, Cursor(
                    here.kube_continue, here.resource_version, index + 1, start.filters
                )
            return found, _next(chunk, here)
        following = _next(chunk, here)
        if following is None:
            return found, None
        cursor = following


def _next(chunk: Chunk, here: Cursor) -> Cursor | None:
    if not chunk.kube_continue:
        return None
    return Cursor(chunk.kube_continue, here.resource_version, 0, here.filters)
