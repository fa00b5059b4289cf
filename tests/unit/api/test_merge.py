"""A project's effective tasks: template merged with the project's own (project wins)."""

from __future__ import annotations

from typing import Any

from syncline.api.merge import effective_tasks
from syncline.api.project import IntegrationProjectSpec
from syncline.api.task import Task


def _task(name: str, **extra: Any) -> Task:
    base: dict[str, Any] = {
        "name": name,
        "source": {"connection": "erp", "entity": name},
        "destination": {"connection": "crm", "entity": name, "keys": ["id"]},
        "mappings": [{"source": "id", "destination": "id"}, {"source": "n", "destination": "name"}],
    }
    return Task.model_validate({**base, **extra})


def _spec(**fields: Any) -> IntegrationProjectSpec:
    return IntegrationProjectSpec.model_validate(
        {"connectionSetRef": {"name": "s"}, "templateRef": {"name": "t"}, **fields}
    )


def test_template_tasks_are_used_as_they_are_without_project_tasks() -> None:
    merged = effective_tasks(_spec(), [_task("a"), _task("b")])
    assert [t.name for t in merged] == ["a", "b"]


def test_project_task_overrides_fields_and_mappings_of_the_template_task() -> None:
    spec = _spec(
        tasks=[
            {
                "name": "a",
                "query": "SELECT * FROM source WHERE active",
                "mappings": [
                    {"source": "title", "destination": "name"},
                    {"constant": "x", "destination": "origin"},
                ],
            }
        ]
    )
    (merged,) = effective_tasks(spec, [_task("a")])
    assert merged.query == "SELECT * FROM source WHERE active"
    assert merged.source is not None
    assert merged.source.entity == "a"
    assert [(m.destination, m.source or m.constant) for m in merged.mappings] == [
        ("id", "id"),
        ("name", "title"),
        ("origin", "x"),
    ]


def test_excluded_template_tasks_are_removed_and_project_tasks_appended() -> None:
    spec = _spec(excludedTasks=["a"], tasks=[_task("c").to_wire()])
    assert [t.name for t in effective_tasks(spec, [_task("a"), _task("b")])] == ["b", "c"]


def test_merging_never_mutates_the_template() -> None:
    template = [_task("a")]
    spec = _spec(tasks=[{"name": "a", "mappings": [{"source": "z", "destination": "id"}]}])
    effective_tasks(spec, template)
    assert template[0].mappings[0].source == "id"
