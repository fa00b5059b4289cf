"""`syncline operator` that dies (like SIGKILL) right after applying a project's CronJob,
before the project's status is written: the exact window a crash-safety test needs."""

from __future__ import annotations

import os
from typing import Any

from syncline.cli.main import main
from syncline.controllers import kube

_write_status = kube.patch_status


def _crash_before_project_status(
    kind: kube.Kind, namespace: str | None, name: str, status: dict[str, Any]
) -> None:
    if kind is kube.PROJECT and status.get("cronJobRef"):
        os._exit(137)
    _write_status(kind, namespace, name, status)


kube.patch_status = _crash_before_project_status  # type: ignore[assignment]

if __name__ == "__main__":
    main()
