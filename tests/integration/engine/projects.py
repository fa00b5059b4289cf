"""Build ResolvedProjects over real systems for runner tests, and hook into their runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from syncline.api.project import Guardrails, Limits
from syncline.api.task import Task
from syncline.engine.project import ResolvedConnection, ResolvedProject
from syncline.engine.report import RunReport
from tests.integration.engine.harness import Harness


def project(
    source: Harness,
    destination: Harness,
    tasks: list[dict[str, Any]],
    *,
    name: str = "demo",
    org_units: dict[str, str] | None = None,
    guardrails: dict[str, Any] | None = None,
    **limits: Any,
) -> ResolvedProject:
    """A project whose tasks read alias `src` and write alias `dst` (``guardrails`` in
    the API's camelCase, like YAML)."""
    return ResolvedProject(
        namespace="test",
        name=name,
        tasks=[Task.model_validate(t) for t in tasks],
        connections={
            "src": ResolvedConnection("src", source.spec, source.credentials),
            "dst": ResolvedConnection("dst", destination.spec, destination.credentials),
        },
        integration_keys=[],
        org_units=org_units,
        limits=Limits.model_validate(limits),
        guardrails=Guardrails.model_validate(guardrails or {}),
    )


def task(
    name: str = "copy",
    *,
    source: str = "src_table",
    destination: str = "dst_table",
    keys: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A task dict (camelCase like YAML) reading src.SOURCE into dst.DESTINATION."""
    return {
        "name": name,
        "source": {"connection": "src", "entity": source, **extra.pop("source_extra", {})},
        "destination": {"connection": "dst", "entity": destination, "keys": keys or ["id"]},
        **extra,
    }


def after_batches(count: int, action: Callable[[], object]) -> Callable[[RunReport], None]:
    """An ``on_progress`` hook doing ``action`` once, when ``count`` batches have committed
    (the runner reports progress after each batch)."""
    calls = 0

    def hook(_report: RunReport) -> None:
        nonlocal calls
        calls += 1
        if calls == count:
            action()

    return hook


def small_batches(harness: Harness, size: int) -> Harness:
    """The same system read in batches of ``size`` (so a run commits several batches)."""
    options = harness.spec.options.model_copy(update={"batch_size": size})
    return dataclasses.replace(harness, spec=harness.spec.model_copy(update={"options": options}))
