"""`syncline operator` that dies (like SIGKILL) right after applying a project's CronJob,
before the project's status is written: the exact window a crash-safety test needs."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from syncline.cli.main import main
from syncline.controllers import kube

_update_status = kube.update_status
Decide = Callable[[dict[str, Any]], dict[str, Any] | None]


def _crash_before_project_status(
    kind: kube.Kind, namespace: str | None, name: str, decide: Decide
) -> dict[str, Any] | None:
    def crash_when_it_names_the_cronjob(current: dict[str, Any]) -> dict[str, Any] | None:
        status = decide(current)
        if kind is kube.PROJECT and (status or {}).get("cronJobRef"):
            os._exit(137)
        return status

    return _update_status(kind, namespace, name, crash_when_it_names_the_cronjob)


kube.update_status = _crash_before_project_status

if __name__ == "__main__":
    main()
