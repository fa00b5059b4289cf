"""Which finished run suspends its project (pure decisions; the operator side is in
tests/integration/operator/test_guardrails.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from syncline.api.project import Guardrails
from syncline.api.run import IntegrationRun
from syncline.history.guardrails import suspension, trip_of

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
RATE = Guardrails.model_validate({"maxRunErrorRate": {"share": 0.5, "runs": 4}})


def _run(
    name: str, result: str, minute: int, code: int | None = None, **extra: Any
) -> IntegrationRun:
    status: dict[str, Any] = {
        "result": result,
        "startTime": (T0 + timedelta(minutes=minute - 1)).isoformat(),
        "completionTime": (T0 + timedelta(minutes=minute)).isoformat(),
        "message": f"{code} Something: went wrong" if code else "fine",
    }
    if code:
        status["errorCode"] = code
    return IntegrationRun.model_validate(
        {
            "kind": "IntegrationRun",
            "metadata": {"name": name},
            "spec": {"projectRef": {"name": "p"}, "trigger": "schedule", **extra},
            "status": status,
        }
    )


def _history(*results: str) -> list[IntegrationRun]:
    return [_run(f"p-{i}", r, i, 2000 if r == "Error" else None) for i, r in enumerate(results)]


def test_a_run_the_engine_refused_with_a_guardrail_code_trips_without_any_set_here() -> None:
    run = _run("p-9", "Error", 9, 2504)
    trip = trip_of(run, [], Guardrails(), None, T0)
    assert trip is not None
    assert (trip.code, trip.run, trip.message) == (2504, "p-9", "2504 Something: went wrong")
    assert trip_of(_run("p-9", "Error", 9, 2000), [], Guardrails(), None, T0) is None
    assert trip_of(_run("p-9", "Completed", 9), [], RATE, None, T0) is None


def test_more_errors_than_the_share_of_the_last_runs_trips() -> None:
    runs = _history("Error", "Completed", "Error", "Completed", "Error")  # last 4: 2 errors
    assert trip_of(runs[-1], runs, RATE, None, T0) is None
    runs.append(_run("p-5", "Error", 5, 2000))  # last 4: 3 errors > 0.5 x 4
    trip = trip_of(runs[-1], runs, RATE, None, T0)
    assert trip is not None
    assert trip.code == 2505
    assert "3 of the last 4 finished runs of project p" in trip.message
    assert "allows 2 in 4" in trip.message


def test_fewer_runs_than_the_window_are_held_to_the_same_number() -> None:
    runs = _history("Error", "Error")
    assert trip_of(runs[-1], runs, RATE, None, T0) is None  # 2 errors: 2 allowed in 4
    runs.append(_run("p-2", "Error", 2, 2000))
    assert trip_of(runs[-1], runs, RATE, None, T0) is not None


def test_a_resume_starts_the_window_afresh_and_an_older_run_cannot_trip() -> None:
    runs = _history("Error", "Error", "Error", "Error")
    resumed = T0 + timedelta(minutes=3, seconds=30)
    assert trip_of(runs[-1], runs, RATE, resumed, T0) is None  # finished before the resume
    runs += [_run("p-4", "Error", 4, 2000), _run("p-5", "Error", 5, 2000)]
    assert trip_of(runs[-1], runs, RATE, resumed, T0) is None  # 2 since the resume
    runs.append(_run("p-6", "Error", 6, 2000))
    assert trip_of(runs[-1], runs, RATE, resumed, T0) is not None
    engine_refusal = _run("p-3", "Error", 3, 2503)
    assert trip_of(engine_refusal, [], Guardrails(), resumed, T0) is None


def test_a_refused_request_that_never_ran_does_not_count() -> None:
    runs = _history("Error", "Error")
    never = _run("req", "Error", 3, 1670)
    assert never.status is not None
    never.status.start_time = None  # refused before it had a Job
    runs.append(never)
    runs.append(_run("p-4", "Error", 4, 2000))
    assert trip_of(runs[-1], runs, RATE, None, T0) is not None  # p-0, p-1, p-4: 3 > 2
    assert trip_of(runs[-2], runs[:-1], RATE, None, T0) is None


def test_the_suspension_says_why_and_how_to_resume() -> None:
    trip = trip_of(_run("p-9", "Error", 9, 2503), [], Guardrails(), None, T0)
    assert trip is not None
    text = str(suspension("p", trip))
    assert text.startswith("2506 SuspendedByGuardrail: Project p is suspended since run p-9:")
    assert "2503 Something: went wrong" in text
    assert "`syncline resume p`, or a new syncline.dev/resume annotation value" in text
