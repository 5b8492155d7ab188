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
import codecs
import email.message
import json
import re
from collections.abc import Callable, Coroutine, Iterable, Iterator
from json.scanner import make_scanner
from typing import Any, Final, TypeVar

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError

from app.memory import release_on_loop

# Items parsed, and items validated, between two yields: each stretch stays short.
PARSE_SLICE: Final = 500
VALIDATE_SLICE: Final = 250
DECODE_PIECE: Final = 256 * 1024  # bytes of the body decoded at a time
NUMBER_TAIL: Final = 3  # "e+1": what a number cut short may still lack after what is read

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


class _Text:
    """The text being parsed, a piece at a time: what is not parsed yet, and the pieces to come.
    A piece may end anywhere, inside a string or a number: a read that meets the end of
    ``text`` asks for ``more``, and positions count from the start of ``text`` as it is now."""

    def __init__(self, pieces: Iterator[str]) -> None:
        self._pieces = pieces
        self.text = ""

    def more(self, at: int) -> int | None:
        """Keep the text from ``at`` on and append at least as much again (at least one
        character): ``at``'s new position, or None when nothing is left to append."""
        kept = self.text[at:]
        added: list[str] = []
        size = 0
        for piece in self._pieces:
            added.append(piece)
            size += len(piece)
            if size > len(kept):  # doubling: a long value is scanned O(1) times over
                break
        if not size:
            return None
        self.text = kept + "".join(added)
        return 0


def _skip_space(text: _Text, at: int) -> int:
    """The position of the next character that is not a space (the end, if none is left)."""
    while True:
        match = _SPACE.match(text.text, at)
        at = match.end() if match is not None else at
        if at < len(text.text):
            return at
        moved = text.more(at)
        if moved is None:
            return at
        at = moved


def _next_char(text: _Text, at: int) -> tuple[str, int]:
    """The next character that is not a space ("" at the end), and its position."""
    at = _skip_space(text, at)
    return text.text[at : at + 1], at


def _expect(text: _Text, at: int, char: str) -> int:
    found, at = _next_char(text, at)
    if found != char:
        raise _UnreadableError
    return at + 1


def _value(text: _Text, at: int) -> tuple[Any, int]:
    at = _skip_space(text, at)
    while True:
        try:
            value, end = _SCAN(text.text, at)
        except (StopIteration, json.JSONDecodeError):
            moved = text.more(at)  # cut off by the piece's end, or not JSON at all
            if moved is None:
                raise _UnreadableError from None
            at = moved
            continue
        # A number may go on in the next piece: "-1." is read as -1, "1.5e" as 1.5.
        if len(text.text) - end < NUMBER_TAIL:
            moved = text.more(at)
            if moved is not None:
                at = moved
                continue
        return value, end


async def parse_object(source: str | Iterable[str], sliced: str) -> dict[str, Any]:
    """``json.loads`` of ``source`` (a text, or its pieces in order) for an object, parsing the
    array under key ``sliced`` one item at a time with a yield every ``PARSE_SLICE`` items;
    ``_UnreadableError`` for anything else."""
    text = _Text(iter([source] if isinstance(source, str) else source))
    parsed: dict[str, Any] = {}
    at = _expect(text, 0, "{")
    found, at = _next_char(text, at)
    if found == "}":
        at += 1
    else:
        while True:
            found, at = _next_char(text, at)
            if found != '"':
                raise _UnreadableError
            key, at = _value(text, at)
            at = _expect(text, at, ":")
            found, at = _next_char(text, at)
            if key == sliced and found == "[":
                parsed[key], at = await _array(text, at + 1)
            else:
                parsed[key], at = _value(text, at)
            found, at = _next_char(text, at)
            if found == "}":
                at += 1
                break
            at = _expect(text, at, ",")
    if _next_char(text, at)[0]:
        raise _UnreadableError
    return parsed


async def _array(text: _Text, at: int) -> tuple[list[Any], int]:
    items: list[Any] = []
    found, at = _next_char(text, at)
    if found == "]":
        return items, at + 1
    while True:
        item, at = _value(text, at)
        items.append(item)
        if len(items) % PARSE_SLICE == 0:
            await asyncio.sleep(0)
        found, at = _next_char(text, at)
        if found == "]":
            return items, at + 1
        at = _expect(text, at, ",")


def _decoded(body: bytes) -> Iterator[str]:
    """``body`` decoded as UTF-8 a piece at a time (``UnicodeDecodeError`` as it comes): one
    text as large as the body is fresh memory, written holding the GIL, page by page."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(body)
    for start in range(0, len(view), DECODE_PIECE):
        yield decoder.decode(view[start : start + DECODE_PIECE])
    yield decoder.decode(b"", final=True)


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
        parsed = await parse_object(_decoded(body), field)
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
