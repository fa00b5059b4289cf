"""The no-flooding rule: which runs a channel hears about, and why the others are skipped."""

from __future__ import annotations

from syncline.api.project import (
    EmailNotification,
    Notifications,
    NotificationState,
    Outcome,
    WebhookNotification,
)
from syncline.api.run import NotificationChannel, RunResult
from syncline.observability.notifications.policy import (
    Occasion,
    Standing,
    decide,
    decisions,
    standing_after,
    state_of,
)

C, W, E = RunResult.COMPLETED, RunResult.WARNING, RunResult.ERROR
DEFAULT = [Outcome.WARNING, Outcome.ERROR, Outcome.RECOVERED]


def _history(results: list[RunResult]) -> list[Standing]:
    """The standing after each run, carried through the stored state like the operator."""
    standings: list[Standing] = []
    state: NotificationState | None = None
    previous: tuple[RunResult, str] | None = None
    for number, result in enumerate(results, start=1):
        name = f"run-{number}"
        standing = standing_after(
            state,
            previous[0] if previous else None,
            previous[1] if previous else None,
            name,
            result,
        )
        standings.append(standing)
        state, previous = state_of(standing), (result, name)
    return standings


def _mailed(results: list[RunResult], remind_every: int = 10) -> list[int]:
    """Numbers of the runs the default email channel is sent for."""
    sent = []
    for number, standing in enumerate(_history(results), start=1):
        decision = decide(standing, NotificationChannel.EMAIL, "email", DEFAULT, remind_every)
        if decision is not None and decision.due:
            sent.append(number)
    return sent


def test_a_failure_mails_once_then_reminds_every_ten_then_recovers_once() -> None:
    results = [C] + [E] * 22 + [C, C]
    # run 2 is the 1st failure, run 12 the 11th, run 22 the 21st; run 24 recovers.
    assert _mailed(results) == [2, 12, 22, 24]


def test_remind_every_zero_never_reminds() -> None:
    assert _mailed([E] * 30 + [C], remind_every=0) == [1, 31]


def test_remind_every_one_mails_every_failure() -> None:
    assert _mailed([C, E, E, E], remind_every=1) == [2, 3, 4]


def test_the_first_run_of_a_project_is_a_change() -> None:
    first = _history([E])[0]
    assert (first.outcome, first.consecutive_runs) == (Outcome.ERROR, 1)
    assert _mailed([E]) == [1]
    assert _mailed([C]) == []  # Completed is not among the default outcomes


def test_recovered_is_the_first_good_run_after_an_error_only() -> None:
    standings = _history([E, E, W, W, C, E, C])
    outcomes = [s.outcome for s in standings]
    assert outcomes == [
        Outcome.ERROR,
        Outcome.ERROR,
        Outcome.RECOVERED,
        Outcome.WARNING,
        Outcome.COMPLETED,
        Outcome.ERROR,
        Outcome.RECOVERED,
    ]
    assert standings[2].outcomes == {Outcome.RECOVERED, Outcome.WARNING}


def test_a_warning_streak_is_not_repeated_either() -> None:
    assert _mailed([C, W, W, W, E, E, W]) == [2, 5, 7]


def test_a_recovery_reaches_a_channel_that_listens_to_warnings_only_through_its_result() -> None:
    recovered_with_warning = _history([E, W])[1]
    decision = decide(
        recovered_with_warning, NotificationChannel.WEBHOOK, "hook", [Outcome.WARNING], 10
    )
    assert decision is not None
    assert decision.occasion is Occasion.CHANGED
    recovered_clean = _history([E, C])[1]
    none = decide(recovered_clean, NotificationChannel.WEBHOOK, "hook", [Outcome.ERROR], 10)
    assert none is None


def test_a_skipped_run_says_when_the_next_reminder_is_due() -> None:
    third = _history([E, E, E])[2]
    decision = decide(third, NotificationChannel.EMAIL, "email", DEFAULT, 10)
    assert decision is not None
    assert not decision.due
    assert "3 runs in a row" in decision.reason
    assert "next reminder at run 11" in decision.reason
    reminder = _history([E] * 11)[10]
    due = decide(reminder, NotificationChannel.EMAIL, "email", DEFAULT, 10)
    assert due is not None
    assert due.occasion is Occasion.REMINDER


def test_a_project_from_before_notifications_counts_from_its_last_run() -> None:
    standing = standing_after(None, E, "old-run", "new-run", E)
    assert standing.consecutive_runs == 2
    stale = NotificationState(run="older-run", outcome=Outcome.ERROR, consecutive_runs=7)
    assert standing_after(stale, E, "old-run", "new-run", E).consecutive_runs == 2


def test_every_channel_decides_for_itself() -> None:
    notifications = Notifications(
        email=EmailNotification(to=["ops@example.com"], results=[Outcome.ERROR]),
        webhooks=[
            WebhookNotification(
                name="every-failure",
                url_secret_ref={"name": "s"},  # type: ignore[arg-type]
                results=[Outcome.ERROR],
                remind_every=1,
            ),
            WebhookNotification(
                name="good-news",
                url_secret_ref={"name": "s"},  # type: ignore[arg-type]
                results=[Outcome.COMPLETED],
            ),
        ],
    )
    second_failure = _history([E, E])[1]
    found = decisions(notifications, second_failure)
    assert [(d.channel.value, d.name, d.due) for d in found] == [
        ("email", "email", False),
        ("webhook", "every-failure", True),
    ]
    assert decisions(None, second_failure) == []
