"""The engine's structured run log: one JSON object per line.

Log records carry counts, codes and names as ``extra`` fields; credential values are
never passed to the logger. Error texts are (a driver's message may echo a credential),
so the formatter scrubs the message and every string extra with the run's
:class:`~syncline.redaction.Redactor` before anything is written. Row values never reach
the log: row errors are logged by count, and their messages carry no values anyway.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from syncline.redaction import NO_SECRETS, Redactor

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonLinesFormatter(logging.Formatter):
    """time, level, logger, message, then every structured extra; secret values scrubbed."""

    def __init__(self, redactor: Redactor = NO_SECRETS) -> None:
        super().__init__()
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": self.redactor(record.getMessage()),
        }
        entry.update({k: self._scrubbed(v) for k, v in vars(record).items() if k not in _STANDARD})
        return json.dumps(entry, default=lambda v: self.redactor(str(v)))

    def _scrubbed(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redactor(value)
        if isinstance(value, dict):
            return {k: self._scrubbed(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._scrubbed(v) for v in value]
        return value


@contextmanager
def json_log(
    target: Path | TextIO, level: int = logging.INFO, *, redactor: Redactor = NO_SECRETS
) -> Iterator[None]:
    """Send the ``syncline`` loggers to ``target`` as JSON lines for the duration,
    scrubbed of the secret values ``redactor`` knows."""
    handler: logging.Handler
    if isinstance(target, Path):
        handler = logging.FileHandler(target, encoding="utf-8")
    else:
        handler = logging.StreamHandler(target)
    handler.setFormatter(JsonLinesFormatter(redactor))
    logger = logging.getLogger("syncline")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
        handler.close()
