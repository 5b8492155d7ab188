"""One error shape for every failure: ``{"detail": ...}`` naming the field, never a 500 for bad
input, never the offending input echoed back (a 10 MB body must not come back in a 422)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute

from app.api.responses import JsonResponse
from app.db import UNAVAILABLE_ERRORS
from app.domain import ConflictError, NotFoundError
from app.write_process import DatabaseUnavailableError

log = logging.getLogger("withheld.api")

MAX_REPORTED_ISSUES = 20
UNAVAILABLE = {
    "detail": "database unavailable: writes and history reads are refused; "
    "visibility lookups keep answering from memory"
}


def _issue(error: Any) -> dict[str, Any]:
    msg = str(error.get("msg", "invalid"))
    if len(msg) > 300:
        msg = msg[:300] + "…"
    return {
        "loc": list(error.get("loc", ())),
        "msg": msg,
        "type": str(error.get("type", "value_error")),
    }


async def _validation_error(_: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    issues = [_issue(error) for error in errors[:MAX_REPORTED_ISSUES]]
    if len(errors) > MAX_REPORTED_ISSUES:
        issues.append(
            {
                "loc": ["body"],
                "msg": f"{len(errors) - MAX_REPORTED_ISSUES} more errors",
                "type": "too_many_errors",
            }
        )
    return JsonResponse({"detail": issues}, status_code=422)


class _AllowedMethods:
    """Every method the API serves at a path (Starlette's 405 names only one route's)."""

    def __init__(self, routes: list[BaseRoute]) -> None:
        self._routes = [
            (route.path_regex, set(route.methods or ()))
            for route in routes
            if isinstance(route, APIRoute)
        ]

    def at(self, path: str) -> str:
        methods: set[str] = set()
        for regex, route_methods in self._routes:
            if regex.match(path):
                methods |= route_methods
        return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        allowed_methods: _AllowedMethods = request.app.state.allowed_methods
        allowed = allowed_methods.at(request.url.path)
        return JsonResponse(
            {"detail": f"method {request.method} not allowed here; use {allowed}"},
            status_code=405,
            headers={"Allow": allowed},
        )
    return JsonResponse(
        {"detail": exc.detail}, status_code=exc.status_code, headers=dict(exc.headers or {})
    )


async def _not_found(_: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, NotFoundError)
    return JsonResponse({"detail": exc.detail}, status_code=404)


async def _conflict(_: Request, exc: Exception) -> JsonResponse:
    assert isinstance(exc, ConflictError)
    return JsonResponse({"detail": exc.detail}, status_code=409)


async def _database_unavailable(request: Request, exc: Exception) -> JsonResponse:
    log.warning("database error: %s", type(exc).__name__)
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is not None:
        runtime.metrics.stats.db_error("request")
    return JsonResponse(UNAVAILABLE, status_code=503, headers={"Retry-After": "1"})


async def _unexpected(request: Request, exc: Exception) -> JsonResponse:
    """A bug: log it with its traceback (never the request body) and answer JSON, not text."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JsonResponse({"detail": "internal error"}, status_code=500)


def install(app: FastAPI, routes: list[BaseRoute]) -> None:
    app.state.allowed_methods = _AllowedMethods(routes)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(ConflictError, _conflict)
    # The write process answers the same errors as DatabaseUnavailableError.
    for kind in (*UNAVAILABLE_ERRORS, DatabaseUnavailableError):
        app.add_exception_handler(kind, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)
