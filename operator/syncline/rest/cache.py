"""A small time-bounded, size-bounded cache for authentication and authorization answers.

TokenReview and SubjectAccessReview each cost a round trip to the API server; a UI
issues bursts of requests with the same token. Answers are kept for a few seconds
only, so a revoked token or a removed RoleBinding stops working almost at once, and
the number of entries is capped so a flood of distinct tokens cannot grow memory.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class TtlCache(Generic[V]):
    """Least-recently-inserted eviction, per-entry expiry; safe across threads."""

    def __init__(
        self,
        ttl_seconds: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._clock = clock
        self._items: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        """The cached value, or None when absent or expired (a disabled cache: ttl 0)."""
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            expires, value = hit
            if self._clock() >= expires:
                del self._items[key]
                return None
            return value

    def put(self, key: Hashable, value: V) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            self._items.pop(key, None)
            self._items[key] = (self._clock() + self.ttl, value)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
