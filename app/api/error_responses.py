"""The error responses the routers document in OpenAPI (their shape: ``app.api.errors``)."""

from __future__ import annotations

from typing import Any

from app.schemas.common import ErrorResponse

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Malformed body (not JSON, not UTF-8)."},
    401: {
        "model": ErrorResponse,
        "description": "Missing or invalid bearer token.",
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    },
    409: {"model": ErrorResponse, "description": "Contradicts what is stored; nothing written."},
    413: {"model": ErrorResponse, "description": "Request body too large."},
    422: {"model": ErrorResponse, "description": "Invalid input; `loc` names the field."},
    503: {"model": ErrorResponse, "description": "Database unavailable."},
}
READ_ERRORS: dict[int | str, dict[str, Any]] = {422: ERRORS[422], 503: ERRORS[503]}
INVALID_TOKEN: dict[int | str, dict[str, Any]] = {
    401: {**ERRORS[401], "description": "A bearer token was sent but is not valid."}
}
AUTHOR_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ErrorResponse,
        "description": "A post named with another author than its rules name; nothing written.",
    }
}
