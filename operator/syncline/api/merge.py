"""A project's effective tasks: its template's tasks merged with its own.

Rules (the project wins): a project task named like a template task overrides it
field by field (source, destination, query), its mappings override the template's
mapping of the same destination field and add new ones; ``excludedTasks`` removes
template tasks; project-only tasks are appended in their order.
"""

from __future__ import annotations

from collections.abc import Sequence

from syncline.api.project import IntegrationProjectSpec
from syncline.api.task import Mapping, Task


def effective_tasks(
    spec: IntegrationProjectSpec, template_tasks: Sequence[Task] = ()
) -> list[Task]:
    """The tasks a run executes, in order: template tasks first, then project-only ones."""
    own = {t.name: t for t in spec.tasks}
    excluded = set(spec.excluded_tasks)
    merged = [_merge_task(t, own.get(t.name)) for t in template_tasks if t.name not in excluded]
    template_names = {t.name for t in template_tasks}
    merged += [t for t in spec.tasks if t.name not in template_names]
    return merged


def _merge_task(base: Task, override: Task | None) -> Task:
    if override is None:
        return base.model_copy(deep=True)
    return Task(
        name=base.name,
        source=override.source or base.source,
        destination=override.destination or base.destination,
        query=override.query if override.query is not None else base.query,
        mappings=_merge_mappings(base.mappings, override.mappings),
    )


def _merge_mappings(base: Sequence[Mapping], override: Sequence[Mapping]) -> list[Mapping]:
    replaced = {m.destination: m for m in override}
    merged = [replaced.pop(m.destination, m) for m in base]
    return merged + [m for m in override if m.destination in replaced]
