"""`syncline operator` that dies (like SIGKILL) right after it recorded a fire time in a
project's status and before it created that fire time's Job: the window in which a
restart could start a run twice, or never."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from syncline.cli.main import main
from syncline.controllers import kube

_update_status = kube.update_status
Decide = Callable[[dict[str, Any]], dict[str, Any] | None]


def _crash_after_recording_a_fire_time(
    kind: kube.Kind, namespace: str | None, name: str, decide: Decide
) -> dict[str, Any] | None:
    decided: list[dict[str, Any] | None] = []

    def remember(current: dict[str, Any]) -> dict[str, Any] | None:
        decided[:] = [decide(current)]
        return decided[0]

    written = _update_status(kind, namespace, name, remember)
    if kind is kube.PROJECT and written is not None and (decided[0] or {}).get("lastFireJob"):
        os._exit(137)
    return written


kube.update_status = _crash_after_recording_a_fire_time

if __name__ == "__main__":
    main()
