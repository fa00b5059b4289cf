"""One probe for many identical Connections checked at the same moment.

Teams often declare many Connections to the same system with the same Secret (one per
ConnectionSet). Applied together, each would open its own database session to check
and discover the same catalog, and the bounded probe pool would queue them all. A
caller whose identical probe (same spec, same credential values) is already running
waits for that one instead and shares its outcome, success or error. Nothing is
cached once a probe has finished: a later check (a timer, the refresh annotation)
always asks the system again.

Keys are digests; credential values never leave the caller except hashed.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def probe_key(spec: Any, credentials: Mapping[str, str]) -> str:
    """A digest of everything a probe depends on: the spec and the credential values."""
    material = json.dumps({"spec": spec, "credentials": dict(credentials)}, sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()


class SingleFlight(Generic[T]):
    """Callers with the same key while one runs share its result (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, Future[T]] = {}
        self.shared = 0
        """How many callers got a result without running the work (for tests)."""

    def run(self, key: str, work: Callable[[], T]) -> T:
        with self._lock:
            running = self._running.get(key)
            if running is None:
                mine: Future[T] = Future()
                self._running[key] = mine
            else:
                self.shared += 1
        if running is not None:
            return running.result()
        try:
            result = work()
        except BaseException as err:
            mine.set_exception(err)
            raise
        finally:
            with self._lock:
                self._running.pop(key, None)
        mine.set_result(result)
        return result
