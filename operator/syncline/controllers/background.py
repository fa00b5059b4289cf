"""Operator-wide loops: one asyncio task each, started with the operator, cancelled with it.

They replaced kopf timers per project (issue 14: a thousand timers cost a task and its
memory each, and as many wake-ups) where one pass over what the watches show does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

import kopf


def run_with_operator(name: str, loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Start ``loop`` when the operator starts; cancel it, and wait for it, when it stops."""
    running: list[asyncio.Task[None]] = []

    @kopf.on.startup(id=f"start-{name}")
    async def start(**_: Any) -> None:
        running.append(asyncio.create_task(loop(), name=name))

    @kopf.on.cleanup(id=f"stop-{name}")
    async def stop(**_: Any) -> None:
        while running:
            task = running.pop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
