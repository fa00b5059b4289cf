"""Row problems found while transforming: the row fails, the run goes on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RowProblem:
    """Why one row cannot be written: a catalog code, the field, and a message.

    ``message`` names the field, never a value (it is published); ``stored_message``,
    when set, adds the value for the rejects store (see ``syncline.engine.rejects``).
    """

    code: int
    field: str
    message: str
    stored_message: str | None = None


Problems = dict[int, RowProblem]
"""Row index in the batch -> its first problem (later problems of the row add nothing)."""


def note(problems: Problems, index: int, problem: RowProblem) -> None:
    problems.setdefault(index, problem)
