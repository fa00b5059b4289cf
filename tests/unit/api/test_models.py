"""The API models read every example and write it back unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from syncline.api import BY_KIND, IntegrationProject
from syncline.api.project import Schedule
from tests.support.examples import invalid_cases, syncline_objects

EXAMPLES = list(syncline_objects())


def test_examples_cover_every_kind() -> None:
    assert {obj["kind"] for _, obj in EXAMPLES} == set(BY_KIND)


@pytest.mark.parametrize(("where", "obj"), EXAMPLES, ids=[w for w, _ in EXAMPLES])
def test_example_round_trips(where: str, obj: dict[str, Any]) -> None:
    model = BY_KIND[obj["kind"]].model_validate(obj)
    assert model.to_wire() == obj


@pytest.mark.parametrize(
    ("name", "obj", "field"), list(invalid_cases()), ids=[n for n, _, _ in invalid_cases()]
)
def test_invalid_examples_are_rejected_by_the_models(
    name: str, obj: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        BY_KIND[obj["kind"]].model_validate(obj)
    leaf = field.rsplit(".", 1)[-1].split("[")[0]
    assert leaf in str(caught.value)


def test_wire_names_are_camel_case_and_unset_fields_omitted() -> None:
    project = IntegrationProject.model_validate(
        {
            "kind": "IntegrationProject",
            "metadata": {"name": "p"},
            "spec": {"connectionSetRef": {"name": "s"}, "templateRef": {"name": "t"}},
        }
    )
    wire = project.to_wire()
    assert wire["apiVersion"] == "syncline.dev/v1alpha1"
    assert wire["spec"] == {"connectionSetRef": {"name": "s"}, "templateRef": {"name": "t"}}
    assert project.spec.limits.max_rows_per_run == 500_000
    assert project.spec.history.retention_days == 45


@pytest.mark.parametrize(
    "schedule",
    [{"every": 2}, {"unit": "hours"}, {}, {"every": 1, "unit": "days", "cron": "0 0 * * *"}],
)
def test_a_schedule_is_either_a_recurrence_or_a_cron(schedule: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Schedule.model_validate(schedule)


def test_unknown_fields_are_rejected_not_silently_dropped() -> None:
    with pytest.raises(ValidationError, match="shedule"):
        IntegrationProject.model_validate(
            {
                "kind": "IntegrationProject",
                "spec": {"connectionSetRef": {"name": "s"}, "shedule": {"every": 1}},
            }
        )
