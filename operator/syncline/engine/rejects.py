"""A rejected row in its two forms: the public row error and what the rejects store keeps.

A row error reaches the IntegrationRun status, the project's Events (through the run's
message), the JSON-lines run log and the CLI, so its ``message`` names the row by its
integration key (``key``) and the offending field only, never a value. The rejects store
(``_syncline_rejects`` in the destination, ``<entity>.rejects.jsonl`` next to a file
sink) is where someone with access to the data looks to fix and replay the row: it gets
``stored_message``, the same message followed by the values that explain it (the value
that did not convert or map, the destination's full complaint).
"""

from __future__ import annotations

from dataclasses import dataclass

from syncline.api.run import RowError

MAX_VALUE_CHARS = 500
"""A value quoted in the rejects store is cut here (the store is for finding the row)."""


@dataclass(frozen=True)
class Reject:
    """One row that could not be written."""

    task: str
    key: str
    """The integration key values, as text (``id=42``): public, it is how users find the row."""
    field: str | None
    code: int
    message: str
    """Catalog message without row values: fit for status, Events and the log."""
    stored_message: str
    """``message`` with the row's values: for the rejects store only."""

    def to_api(self) -> RowError:
        """The public row error (status, report, CLI)."""
        return self._row_error(self.message)

    def to_store(self) -> RowError:
        """The row error as the rejects store keeps it."""
        return self._row_error(self.stored_message)

    def _row_error(self, message: str) -> RowError:
        return RowError(
            task=self.task, key=self.key, field=self.field, code=self.code, message=message
        )


def with_value(message: str, value: object) -> str:
    """``message`` followed by the value that caused it, for the rejects store."""
    shown = repr(value)
    if len(shown) > MAX_VALUE_CHARS:
        shown = shown[:MAX_VALUE_CHARS] + "…"
    return f"{message} Value: {shown}."
