"""Logging set-up: human-readable text by default, one JSON object per line with
``WITHHELD_LOG_FORMAT=json``. Nothing secret is ever passed to a logger."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import orjson


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def configure_logging(*, log_format: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("withheld")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    if log_format == "json":
        # uvicorn configured its loggers before importing us: make them speak JSON too.
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "_granian", "granian.access"):
            logger = logging.getLogger(name)
            logger.handlers[:] = [handler]
            logger.propagate = False
