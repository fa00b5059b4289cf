"""Child process of the crash test: runs a project slowly so the parent can SIGKILL it."""

from __future__ import annotations

import json
import sys
import time

from syncline.api.connection import ConnectionSpec
from syncline.api.project import Limits
from syncline.api.task import Task
from syncline.engine.project import ResolvedConnection, ResolvedProject
from syncline.engine.runner import run_project


def build(args: dict[str, object]) -> ResolvedProject:
    """The project both the killed run and the re-run execute (JSON args in, project out)."""
    spec = ConnectionSpec.model_validate(args["spec"])
    creds = dict(args["credentials"])  # type: ignore[call-overload]
    task = Task.model_validate(
        {
            "name": "copy",
            "source": {"connection": "a", "entity": "src", "incremental": {"cursorField": "seq"}},
            "destination": {"connection": "b", "entity": args["destination"], "keys": ["id"]},
            **({"query": args["query"]} if args.get("query") else {}),
        }
    )
    return ResolvedProject(
        namespace="test",
        name=str(args["project"]),
        tasks=[task],
        connections={
            "a": ResolvedConnection("a", spec, creds),
            "b": ResolvedConnection("b", spec, creds),
        },
        integration_keys=[],
        org_units=None,
        limits=Limits(max_rows_per_run=0),
    )


if __name__ == "__main__":
    arguments = json.loads(sys.argv[1])
    delay = float(arguments.get("delay", 0))
    report = run_project(build(arguments), on_progress=lambda _r: time.sleep(delay))
    print(report.result.value)
