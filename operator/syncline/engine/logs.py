"""The engine's structured run log: one JSON object per line.

Log records carry counts, codes and names as ``extra`` fields; credential values are
never passed to the logger, so they cannot reach the log.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonLinesFormatter(logging.Formatter):
    """time, level, logger, message, then every structured extra."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        return json.dumps(entry, default=str)


@contextmanager
def json_log(target: Path | TextIO, level: int = logging.INFO) -> Iterator[None]:
    """Send the ``syncline`` loggers to ``target`` as JSON lines for the duration."""
    handler: logging.Handler
    if isinstance(target, Path):
        handler = logging.FileHandler(target, encoding="utf-8")
    else:
        handler = logging.StreamHandler(target)
    handler.setFormatter(JsonLinesFormatter())
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
