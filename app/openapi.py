"""The committed OpenAPI document (``openapi/openapi.json``) is exactly this function's output."""

from __future__ import annotations

from pathlib import Path

import orjson

from app.config import Settings
from app.main import WithheldApp

DOCUMENT = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def render() -> bytes:
    app = WithheldApp(Settings(database_url="sqlite://"))
    document = app.api.openapi()
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def write(path: Path = DOCUMENT) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render())
