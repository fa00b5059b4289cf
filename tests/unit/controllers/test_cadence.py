"""What a project's reconcile tells the metrics the alerts use (no server needed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from syncline.api.project import IntegrationProjectSpec
from syncline.controllers.cadence import expected_interval, observe_project
from syncline.observability.metrics import RECORDER


def _spec(schedule: dict[str, Any] | None = None, suspend: bool = False) -> IntegrationProjectSpec:
    body: dict[str, Any] = {
        "connectionSetRef": {"name": "crm-sales"},
        "templateRef": {"kind": "IntegrationTemplate", "name": "crm"},
        "suspend": suspend,
    }
    if schedule is not None:
        body["schedule"] = schedule
    return IntegrationProjectSpec.model_validate(body)


@pytest.mark.parametrize(
    ("schedule", "seconds"),
    [
        ({"every": 15, "unit": "minutes"}, 900),
        ({"every": 1, "unit": "days"}, 86_400),
        ({"cron": "0 9 * * 1-5", "timeZone": "Europe/Kyiv"}, 3 * 86_400),
    ],
)
def test_a_scheduled_project_is_expected_at_its_longest_wait(
    schedule: dict[str, Any], seconds: int
) -> None:
    assert expected_interval(_spec(schedule)) == seconds


def test_no_interval_without_a_schedule_to_keep() -> None:
    assert expected_interval(_spec()) is None  # runs only on request
    assert expected_interval(_spec({"every": 1, "unit": "hours"}, suspend=True)) is None
    assert expected_interval(_spec({"cron": "0 0 30 2 *"})) is None  # 1601


def test_a_schedule_the_operator_drives_is_expected_at_its_interval_and_blackouts() -> None:
    assert expected_interval(_spec({"every": 7, "unit": "minutes"})) == 420
    night = {"start": "22:00", "end": "06:00"}
    every2h = {"every": 2, "unit": "hours", "blackouts": [night]}
    assert expected_interval(_spec(every2h)) == (2 + 8) * 3600


@pytest.fixture
def project() -> Iterator[tuple[str, str]]:
    yield "cadence-test", "crm-to-sales"
    RECORDER.forget_project("cadence-test", "crm-to-sales")


def _gauges(namespace: str) -> dict[str, float]:
    text = RECORDER.exposition().decode()
    return {
        s.name: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.labels.get("namespace") == namespace and s.name.endswith("_seconds")
    }


def test_the_last_run_and_success_come_from_status(project: tuple[str, str]) -> None:
    namespace, name = project
    status = {
        "lastRun": {"name": "r2", "result": "Error", "completionTime": "2026-05-01T10:05:00Z"},
        "lastSuccessfulTime": "2026-05-01T09:05:00Z",
    }
    observe_project(namespace, name, _spec({"every": 1, "unit": "hours"}), status)
    assert _gauges(namespace) == {
        "syncline_project_schedule_interval_seconds": 3600,
        "syncline_last_run_timestamp_seconds": 1_777_629_900,
        "syncline_last_success_timestamp_seconds": 1_777_626_300,
    }


def test_a_project_that_never_ran_has_no_timestamps(project: tuple[str, str]) -> None:
    namespace, name = project
    observe_project(namespace, name, _spec(), {"lastSuccessfulTime": "not a time"})
    assert _gauges(namespace) == {}
