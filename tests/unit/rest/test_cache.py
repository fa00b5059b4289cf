"""Authorization answers are cached briefly and in bounded number."""

from __future__ import annotations

from syncline.rest.cache import TtlCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_after_the_ttl() -> None:
    clock = Clock()
    cache: TtlCache[bool] = TtlCache(5, 10, clock)
    cache.put("k", True)
    clock.now = 4.9
    assert cache.get("k") is True
    clock.now = 5.0
    assert cache.get("k") is None


def test_the_oldest_entries_go_first_when_full() -> None:
    cache: TtlCache[int] = TtlCache(60, 3)
    for i in range(5):
        cache.put(i, i)
    assert len(cache) == 3
    assert cache.get(0) is None
    assert cache.get(4) == 4


def test_a_zero_ttl_caches_nothing() -> None:
    cache: TtlCache[int] = TtlCache(0, 3)
    cache.put("k", 1)
    assert cache.get("k") is None
