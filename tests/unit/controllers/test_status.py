"""The one summarizer: conditions users read with kubectl."""

from __future__ import annotations

from datetime import UTC, datetime

from syncline.controllers.status import changed_ready, failed, is_ready, succeeded, summarize
from syncline.errors import SynclineError

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 5, 1, 13, 0, tzinfo=UTC)


def _by_type(conditions: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {c["type"]: c for c in conditions}


def test_ready_has_only_the_ready_condition() -> None:
    conditions = summarize(succeeded("Connected", "ok"), 3, [], NOW)
    assert conditions == [
        {
            "type": "Ready",
            "status": "True",
            "reason": "Connected",
            "message": "ok",
            "lastTransitionTime": "2026-05-01T12:00:00Z",
            "observedGeneration": 3,
        }
    ]


def test_a_failure_that_can_clear_by_itself_is_reconciling() -> None:
    err = SynclineError("ConnectionUnreachable", endpoint="db:5432", detail="refused")
    conditions = _by_type(summarize(failed([err]), 1, [], NOW))
    assert conditions["Ready"]["status"] == "False"
    assert conditions["Ready"]["reason"] == "ConnectionUnreachable"
    assert str(conditions["Ready"]["message"]).startswith("2000 ConnectionUnreachable:")
    assert conditions["Reconciling"]["status"] == "True"
    assert "Stalled" not in conditions


def test_a_failure_the_user_must_fix_is_stalled() -> None:
    err = SynclineError("InvalidCron", cron="x", detail="bad")
    conditions = _by_type(summarize(failed([err]), 1, [], NOW))
    assert conditions["Stalled"]["reason"] == "InvalidCron"
    assert "Reconciling" not in conditions


def test_all_errors_are_in_the_message_the_first_gives_the_reason() -> None:
    errors = [
        SynclineError("SourceFieldMissing", task="t", field="a", entity="e"),
        SynclineError("InvalidCron", cron="x", detail="bad"),
    ]
    ready = summarize(failed(errors), 1, [], NOW)[0]
    assert ready["reason"] == "SourceFieldMissing"
    assert "2200 SourceFieldMissing" in str(ready["message"])
    assert "1600 InvalidCron" in str(ready["message"])


def test_transition_time_only_moves_when_the_status_changes() -> None:
    first = summarize(succeeded("Connected", "ok"), 1, [], NOW)
    again = summarize(succeeded("Connected", "still ok"), 2, first, LATER)
    assert again[0]["lastTransitionTime"] == "2026-05-01T12:00:00Z"
    err = SynclineError("SecretNotFound", name="s", namespace="n")
    broken = summarize(failed([err]), 2, again, LATER)
    assert broken[0]["lastTransitionTime"] == "2026-05-01T13:00:00Z"


def test_recovery_drops_reconciling_and_stalled() -> None:
    err = SynclineError("InvalidCron", cron="x", detail="bad")
    broken = summarize(failed([err]), 1, [], NOW)
    fixed = summarize(succeeded("Scheduled", "ok"), 2, broken, LATER)
    assert [c["type"] for c in fixed] == ["Ready"]


def test_conditions_of_other_owners_are_kept() -> None:
    previous = [{"type": "LastRunSucceeded", "status": "True", "reason": "Completed"}]
    conditions = summarize(succeeded("Scheduled", "ok"), 1, previous, NOW)
    assert [c["type"] for c in conditions] == ["Ready", "LastRunSucceeded"]


def test_long_messages_are_bounded() -> None:
    errors = [
        SynclineError("SourceFieldMissing", task="t", field=f"f{i}", entity="e") for i in range(200)
    ]
    message = str(summarize(failed(errors), 1, [], NOW)[0]["message"])
    assert len(message) <= 2000
    assert message.endswith("(200 errors)")


def test_events_only_for_real_changes() -> None:
    previous = summarize(succeeded("Connected", "ok"), 1, [], NOW)
    assert not changed_ready(previous, succeeded("Connected", "ok"))
    assert changed_ready(previous, succeeded("Connected", "other"))
    err = SynclineError("SecretNotFound", name="s", namespace="n")
    assert changed_ready(previous, failed([err]))
    assert changed_ready([], succeeded("Connected", "ok"))


def test_a_stale_ready_verdict_is_not_ready() -> None:
    ready = summarize(succeeded("Connected", "ok"), 1, [], NOW)
    current = {
        "metadata": {"generation": 1},
        "status": {"observedGeneration": 1, "conditions": ready},
    }
    stale = {
        "metadata": {"generation": 2},
        "status": {"observedGeneration": 1, "conditions": ready},
    }
    assert is_ready(current)
    assert not is_ready(stale)
    assert not is_ready(None)
