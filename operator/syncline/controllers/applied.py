"""Manifests applied recently by this process, so identical content is not sent again.

Every project reconcile server-side applies its namespace's engine identity (a
ServiceAccount and a RoleBinding). With many projects per namespace that was two API
writes per reconcile for content that never changes. The apply is idempotent, so
skipping a repeat loses nothing as long as the object is still there; a repeat after
``ttl`` seconds (or with other content) still repairs an object deleted by hand.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

DEFAULT_TTL_SECONDS = 300.0


class RecentlyApplied:
    """Content digests applied within ``ttl`` seconds (thread-safe: handlers run in threads)."""

    def __init__(
        self, ttl: float = DEFAULT_TTL_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl, self.clock = ttl, clock
        self._applied: dict[str, float] = {}
        self._lock = threading.Lock()

    @staticmethod
    def digest(manifests: Any) -> str:
        text = json.dumps(manifests, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def fresh(self, manifests: Any) -> bool:
        """Whether this exact content was applied less than ``ttl`` seconds ago."""
        key = self.digest(manifests)
        with self._lock:
            applied = self._applied.get(key)
            return applied is not None and self.clock() - applied < self.ttl

    def mark(self, manifests: Any) -> None:
        """Record a successful apply of this content now."""
        key = self.digest(manifests)
        with self._lock:
            self._applied[key] = self.clock()

    def clear(self) -> None:
        with self._lock:
            self._applied.clear()


ENGINE_IDENTITIES = RecentlyApplied()
"""The engine ServiceAccount + RoleBinding per namespace (project reconciles)."""
