"""Row problems found while transforming: the row fails, the run goes on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RowProblem:
    """Why one row cannot be written: a catalog error name, the field, and a message."""

    code: int
    field: str
    message: str


Problems = dict[int, RowProblem]
"""Row index in the batch -> its first problem (later problems of the row add nothing)."""


def note(problems: Problems, index: int, problem: RowProblem) -> None:
    problems.setdefault(index, problem)
