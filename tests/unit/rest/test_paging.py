"""Paging assembled from filtered chunks: every kept item exactly once, in order."""

from __future__ import annotations

from typing import Any

import pytest

from syncline.errors import SynclineError
from syncline.rest import paging


def chunked(items: list[dict[str, Any]]) -> paging.Fetch:
    """A fake API server list: continue tokens are offsets, the snapshot never changes."""

    def fetch(cursor: paging.Cursor, limit: int) -> paging.Chunk:
        start = int(cursor.kube_continue or 0)
        end = start + limit
        following = str(end) if end < len(items) else ""
        return paging.Chunk(items[start:end], following, "42")

    return fetch


@pytest.mark.parametrize(
    ("total", "limit", "chunk"), [(0, 5, 3), (10, 3, 4), (97, 7, 10), (50, 50, 10)]
)
def test_pages_cover_every_kept_item_once(total: int, limit: int, chunk: int) -> None:
    items = [{"n": i} for i in range(total)]
    fetch = chunked(items)

    def keep(obj: dict[str, Any]) -> bool:
        return obj["n"] % 3 != 0

    seen: list[int] = []
    cursor: paging.Cursor | None = paging.Cursor(filters="f")
    pages = 0
    while cursor is not None:
        token = paging.encode(cursor) if pages else None
        page, cursor = paging.scan(fetch, keep, limit, paging.decode(token, "f"), chunk)
        assert len(page) <= limit
        seen += [o["n"] for o in page]
        pages += 1
    assert seen == [i for i in range(total) if i % 3 != 0]


def test_first_chunk_is_read_again_at_its_resource_version() -> None:
    calls: list[paging.Cursor] = []
    items = [{"n": i} for i in range(10)]
    inner = chunked(items)

    def fetch(cursor: paging.Cursor, limit: int) -> paging.Chunk:
        calls.append(cursor)
        return inner(cursor, limit)

    _, after = paging.scan(fetch, lambda _: True, 2, paging.Cursor(), 5)
    assert after == paging.Cursor("", "42", 2, "")
    paging.scan(fetch, lambda _: True, 2, after, 5)
    assert calls[-1].resource_version == "42"


@pytest.mark.parametrize("token", ["%%%", "bm90IGpzb24", paging.encode(paging.Cursor(offset=-1))])
def test_a_token_not_issued_by_the_api_is_1019(token: str) -> None:
    with pytest.raises(SynclineError) as caught:
        paging.decode(token, "")
    assert caught.value.code == 1019


def test_a_token_for_other_filters_is_1019() -> None:
    token = paging.encode(paging.Cursor(filters="a"))
    with pytest.raises(SynclineError, match="other filters"):
        paging.decode(token, "b")
