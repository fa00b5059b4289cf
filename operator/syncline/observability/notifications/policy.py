"""Which finished run is worth a notification: the no-flooding rule, as pure functions.

A project's *standing* after a run is the run's outcome and how many runs in a row have
ended with its result (``status.notifications`` keeps it, written in the same status
write as ``lastRun``, so it is counted exactly once per run). A channel hears about a run
when the run's outcome is one it listens to (``results``) and

- the result changed (Completed → Error, Error → Recovered, Warning → Error, ...; a
  project's first run counts as a change), or
- the result held for another ``remindEvery`` runs since the last one it heard about:
  with 10, the 1st, 11th, 21st ... failure in a row (0: never remind).

Otherwise the channel is skipped, and the run's status says why and when the next
reminder is due.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from syncline.api.project import Notifications, NotificationState, Outcome
from syncline.api.run import NotificationChannel, RunResult

EMAIL_NAME = "email"
"""The name of the email channel in a run's notification records."""


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a project stands after a run, for notifications."""

    run: str
    result: RunResult
    outcome: Outcome
    consecutive_runs: int

    @property
    def outcomes(self) -> frozenset[Outcome]:
        """Every outcome the run counts as: Recovered is also its result."""
        return frozenset({self.outcome, Outcome(self.result.value)})


def standing_after(
    previous: NotificationState | None,
    previous_result: RunResult | None,
    previous_run: str | None,
    run: str,
    result: RunResult,
) -> Standing:
    """The standing after ``run`` ended ``result``, following the previous last run.

    ``previous`` is the stored standing; it counts only when it describes the previous
    last run (a project from before notifications existed starts counting at 1).
    """
    if previous_result is None or previous_result is not result:
        recovered = previous_result is RunResult.ERROR
        outcome = Outcome.RECOVERED if recovered else Outcome(result.value)
        return Standing(run, result, outcome, 1)
    held = previous.consecutive_runs if previous and previous.run == previous_run else 1
    return Standing(run, result, Outcome(result.value), held + 1)


def standing_of(state: NotificationState, result: RunResult) -> Standing:
    """The stored standing of the last run (to resume a notification after a restart)."""
    return Standing(state.run, result, state.outcome, state.consecutive_runs)


def state_of(standing: Standing) -> NotificationState:
    """What ``status.notifications`` stores of a standing (lastSent* are kept as they are)."""
    return NotificationState(
        run=standing.run, outcome=standing.outcome, consecutive_runs=standing.consecutive_runs
    )


class Occasion(StrEnum):
    """Why a channel hears about a run."""

    CHANGED = "Changed"
    REMINDER = "Reminder"


@dataclass(frozen=True, slots=True)
class Decision:
    """One channel's verdict on one run: due (with the occasion) or skipped (with why)."""

    channel: NotificationChannel
    name: str
    occasion: Occasion | None
    reason: str

    @property
    def due(self) -> bool:
        return self.occasion is not None


def decide(
    standing: Standing,
    channel: NotificationChannel,
    name: str,
    results: Sequence[Outcome],
    remind_every: int,
) -> Decision | None:
    """The channel's decision; None when it does not listen to this run's outcome."""
    if not standing.outcomes & set(results):
        return None
    runs = standing.consecutive_runs
    if runs == 1:
        return Decision(channel, name, Occasion.CHANGED, f"the result is now {standing.outcome}")
    if remind_every and (runs - 1) % remind_every == 0:
        reason = f"reminder: {runs} runs in a row ended {standing.result}"
        return Decision(channel, name, Occasion.REMINDER, reason)
    why = f"{standing.result} again ({runs} runs in a row); sent only when the result changes"
    if remind_every:
        upcoming = runs + remind_every - (runs - 1) % remind_every
        why += f", next reminder at run {upcoming} in a row"
    return Decision(channel, name, None, why)


def decisions(notifications: Notifications | None, standing: Standing) -> list[Decision]:
    """Every channel's decision on the run, email first, webhooks in the spec's order."""
    if notifications is None:
        return []
    found: list[Decision | None] = []
    email = notifications.email
    if email is not None:
        channel = NotificationChannel.EMAIL
        found.append(decide(standing, channel, EMAIL_NAME, email.results, email.remind_every))
    for hook in notifications.webhooks:
        channel = NotificationChannel.WEBHOOK
        found.append(decide(standing, channel, hook.name, hook.results, hook.remind_every))
    return [d for d in found if d is not None]
