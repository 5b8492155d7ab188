"""Logging set-up: human-readable text by default, one JSON object per line with
``WITHHELD_LOG_FORMAT=json``. Nothing secret is ever passed to a logger."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

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


# The HTTP servers' own loggers (and their children, such as ``_granian.serve``).
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
GRANIAN_LOGGERS = ("_granian", "granian.access")


def server_log_config(loggers: Iterable[str]) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` that makes a server's ``loggers`` write JSON lines.

    Given to uvicorn (``log_config``) or granian (``log_dictconfig``) by ``withheld serve``, so
    that their main process, which never imports the app, speaks JSON too; each worker then
    also runs :func:`configure_logging`."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            name: {"handlers": ["json"], "level": "INFO", "propagate": False} for name in loggers
        },
    }


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
        for name in (*UVICORN_LOGGERS, *GRANIAN_LOGGERS):
            logger = logging.getLogger(name)
            logger.handlers[:] = [handler]
            logger.propagate = False
