"""Bounded retries: a notification is tried a few times with backoff, then given up.

A channel's single attempt raises :class:`DeliveryError` saying whether trying again
may help (a timeout, a refused connection, an HTTP 5xx or 429, an SMTP 4xx) or not (a
rejected login, an HTTP 4xx, an invalid certificate). Worst case, one notification
takes ``attempts`` timeouts plus the backoff between them (4 x 10 s + 1 + 2 + 4 s by
default), which is why the operator sends off its handler threads.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_ATTEMPTS = 4
DEFAULT_BACKOFF_SECONDS = 1.0


class DeliveryError(Exception):
    """One attempt failed; ``retryable`` says whether another attempt may succeed.

    Its text is shown in the run's status and an Event: name hosts, never URLs or
    credentials (callers scrub it once more with everything secret they know).
    """

    def __init__(self, detail: str, *, retryable: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class Delivery:
    """How sending went: sent or not, after how many attempts, and what was said."""

    sent: bool
    attempts: int
    detail: str


def with_retries(
    attempt: Callable[[], str],
    attempts: int = DEFAULT_ATTEMPTS,
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """Call ``attempt`` (it returns what was done) until it succeeds, fails for good or
    has been tried ``attempts`` times; waits ``backoff_seconds``, doubling, in between."""
    delay = backoff_seconds
    for number in range(1, max(attempts, 1) + 1):
        try:
            return Delivery(sent=True, attempts=number, detail=attempt())
        except DeliveryError as err:
            if not err.retryable:
                return Delivery(sent=False, attempts=number, detail=err.detail)
            if number >= attempts:
                return Delivery(False, number, f"{err.detail} (gave up after {number} attempts)")
        sleep(delay)
        delay *= 2
    raise AssertionError("unreachable")  # pragma: no cover
