"""Large request bodies read in slices that yield to the event loop.

FastAPI parses a body in one ``json.loads`` and validates it in one pydantic call, each holding
the event loop for as long as the body is large, so every lookup on this process would wait for a
100,000-item bulk (``docs/performance.md`` has the figures).
``SlicedBodyRoute`` parses such a body item by item and validates it a slice of items at a time,
with the loop free in between, then hands FastAPI the validated model as the request's parsed
JSON; FastAPI takes a model instance as the body without validating it again.

Only the happy path is sliced. Whatever the slices cannot read as plain UTF-8 JSON, and any item
that fails validation, goes FastAPI's usual way (``json.loads``, then the whole model): the same
errors, the same 422 bodies, as any other route; only a bad request pays the stall.
"""

from __future__ import annotations

import asyncio
import email.message
import json
import re
from collections.abc import Callable, Coroutine
from json.scanner import make_scanner
from typing import Any, Final, TypeVar

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError

from app.memory import release_on_loop

# Items parsed, and items validated, between two yields: each stretch stays short.
PARSE_SLICE: Final = 500
VALIDATE_SLICE: Final = 250

_SPACE: Final = re.compile(r"[ \t\n\r]*")
# The standard library's scanner, as FastAPI's json.loads uses it: the same values, NaN included.
_SCAN: Final = make_scanner(json.JSONDecoder())  # type: ignore[arg-type]  # typeshed names it oddly


class _UnreadableError(Exception):
    """Not JSON this parser reads: FastAPI's own parse decides (and words the error)."""


def _is_json(request: Request) -> bool:
    """FastAPI's own test of whether it parses the body as JSON."""
    content_type = request.headers.get("content-type")
    if not content_type:
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def _skip_space(text: str, at: int) -> int:
    match = _SPACE.match(text, at)
    return at if match is None else match.end()


def _expect(text: str, at: int, char: str) -> int:
    at = _skip_space(text, at)
    if text[at : at + 1] != char:
        raise _UnreadableError
    return at + 1


def _value(text: str, at: int) -> tuple[Any, int]:
    try:
        value, end = _SCAN(text, _skip_space(text, at))
    except (StopIteration, json.JSONDecodeError):
        raise _UnreadableError from None
    return value, end


async def parse_object(text: str, sliced: str) -> dict[str, Any]:
    """``json.loads(text)`` for an object, parsing the array under key ``sliced`` one item at a
    time with a yield every ``PARSE_SLICE`` items; ``_UnreadableError`` for anything else."""
    parsed: dict[str, Any] = {}
    at = _expect(text, 0, "{")
    if text[_skip_space(text, at) : _skip_space(text, at) + 1] == "}":
        at = _expect(text, at, "}")
    else:
        while True:
            at = _skip_space(text, at)
            if text[at : at + 1] != '"':
                raise _UnreadableError
            key, at = _value(text, at)
            at = _expect(text, at, ":")
            start = _skip_space(text, at)
            if key == sliced and text[start : start + 1] == "[":
                parsed[key], at = await _array(text, start + 1)
            else:
                parsed[key], at = _value(text, at)
            at = _skip_space(text, at)
            if text[at : at + 1] == "}":
                at += 1
                break
            at = _expect(text, at, ",")
    if _skip_space(text, at) != len(text):
        raise _UnreadableError
    return parsed


async def _array(text: str, at: int) -> tuple[list[Any], int]:
    items: list[Any] = []
    at = _skip_space(text, at)
    if text[at : at + 1] == "]":
        return items, at + 1
    while True:
        item, at = _value(text, at)
        items.append(item)
        if len(items) % PARSE_SLICE == 0:
            await asyncio.sleep(0)
        at = _skip_space(text, at)
        if text[at : at + 1] == "]":
            return items, at + 1
        at = _expect(text, at, ",")


class SlicedBodyRoute(APIRoute):
    """An ``APIRoute`` whose JSON body model has one large list field, read in slices."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        assert self.body_field is not None, "a sliced route needs a body model"
        model: type[BaseModel] = self.body_field.field_info.annotation  # type: ignore[assignment]
        field, item_type, longest = _sliced_field(model)
        items_of = TypeAdapter(list[item_type])  # type: ignore[valid-type]

        async def sliced(request: Request) -> Response:
            if _is_json(request):
                body = await request.body()
                validated = await _validated(body, model, field, items_of, longest)
                if validated is not None:
                    request._json = validated  # what Request.json() returns, parsed already
            return await handler(request)

        return sliced


def _sliced_field(model: type[BaseModel]) -> tuple[str, Any, int]:
    """The model's one list field: its name, its item type and its maximum length."""
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if getattr(annotation, "__origin__", None) is list:
            longest = next(
                (m.max_length for m in info.metadata if getattr(m, "max_length", None)), None
            )
            assert longest is not None, f"{model.__name__}.{name} needs a max_length"
            return name, annotation.__args__[0], longest  # type: ignore[union-attr]
    raise TypeError(f"{model.__name__} has no list field to slice")


async def _validated(
    body: bytes,
    model: type[BaseModel],
    field: str,
    items_of: TypeAdapter[list[Any]],
    longest: int,
) -> BaseModel | None:
    """The body as ``model``, validated a slice of items at a time; None for FastAPI to do."""
    try:
        text = body.decode("utf-8")
        parsed = await parse_object(text, field)
    except (UnicodeDecodeError, _UnreadableError):
        return None
    raw = parsed.get(field)
    if type(raw) is not list or not 1 <= len(raw) <= longest:
        return None
    items: list[Any] = []
    try:
        for start in range(0, len(raw), VALIDATE_SLICE):
            items.extend(items_of.validate_python(raw[start : start + VALIDATE_SLICE]))
            await asyncio.sleep(0)
        # The rest of the body, checked with one item (the list's length is checked above).
        head = model.model_validate({**parsed, field: items[:1]})
    except ValidationError:
        return None
    del parsed[field]
    await release_on_loop(raw)
    return head.model_copy(update={field: items})


Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def sliced_post(router: APIRouter, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
    """``@router.post(path, ...)`` for a route whose large body is read in slices."""

    def register(endpoint: Endpoint) -> Endpoint:
        router.add_api_route(
            path, endpoint, methods=["POST"], route_class_override=SlicedBodyRoute, **options
        )
        return endpoint

    return register
