"""Hashtag restrictions (restrict, lift, list) and eligibility: may a hashtag trend and be
suggested in a country? Writes go through ``transactions.write``; eligibility answers from memory
(``Replica.hashtags``), except with ``explain`` or ``at``. ``/visible`` never looks at hashtags:
a restriction limits where a hashtag is promoted, not the posts that use it.

``POST /hashtags/eligible`` parses its body itself (orjson, then one cached normalisation per
tag): a pydantic model of 1,000 strings would cost more than the whole answer. Its 422s have the
shape every other route's have (``RequestValidationError``, see ``errors``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError

from app import identifiers
from app.api.deps import AdminDep, RuntimeDep
from app.api.error_responses import ERRORS
from app.api.lookups import STALE, MinRevision, order_view, require_revision
from app.api.responses import JsonResponse
from app.api.transactions import read, write
from app.domain import LiftCause, RestrictionNotFoundError
from app.limits import MAX_HASHTAG_BATCH
from app.models import HashtagRestriction
from app.runtime import Runtime
from app.schemas.common import ErrorResponse, PastInstant, RuleCountry, ViewerCountry
from app.schemas.hashtags import (
    EligibilityBatchRead,
    EligibilityBatchRequest,
    EligibilityExplanation,
    EligibilityRead,
    ExplainedRestriction,
    Hashtag,
    HashtagRestrictions,
    RestrictionRead,
)
from app.schemas.rules import LiftRequest, RuleWrite
from app.services import hashtags as service
from app.services.disclosure import Disclosed
from app.services.withholdings import RuleTerms

router = APIRouter(tags=["hashtags"])

HashtagPath = Annotated[
    Hashtag, Path(description="The hashtag, with or without `#` (percent-encoded UTF-8).")
]
CountryPath = Annotated[RuleCountry, Path(description="Country code, or XX for all countries.")]
# An optional body typed as the model itself (see ``withholdings``).
_NO_LIFT_DETAILS = LiftRequest()


def _restriction_read(item: HashtagRestriction, order_id: int | None) -> RestrictionRead:
    return RestrictionRead.model_validate(item).model_copy(update={"order_id": order_id})


def _disclosed(item: Disclosed[HashtagRestriction]) -> RestrictionRead:
    return _restriction_read(item.item, item.order_id)


@router.put(
    "/hashtags/{hashtag}/restrictions/{country}",
    response_model=RestrictionRead,
    status_code=status.HTTP_201_CREATED,
    summary="Restrict a hashtag in a country: it may not trend nor be suggested (idempotent)",
    responses={
        200: {"model": RestrictionRead, "description": "Already active; terms updated."},
        **ERRORS,
    },
)
async def restrict_hashtag(
    runtime: RuntimeDep,
    actor: AdminDep,
    hashtag: HashtagPath,
    country: CountryPath,
    body: RuleWrite,
    response: Response,
) -> RestrictionRead:
    """Posts using the hashtag stay visible: this restricts where it is promoted."""
    work = partial(
        service.restrict,
        hashtag=hashtag,
        country=country,
        terms=RuleTerms(reason=body.reason, order_ref=body.order_ref, expires_at=body.expires_at),
        actor=actor,
        now=datetime.now(UTC),
    )
    outcome = await write(runtime, work, response)
    response.status_code = status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK
    restriction = outcome.restriction
    return _restriction_read(restriction, restriction.order_id)


@router.delete(
    "/hashtags/{hashtag}/restrictions/{country}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Lift an active hashtag restriction (kept in history, never deleted)",
    responses={404: {"model": ErrorResponse, "description": "No active restriction."}, **ERRORS},
)
async def lift_hashtag_restriction(
    runtime: RuntimeDep,
    actor: AdminDep,
    hashtag: HashtagPath,
    country: CountryPath,
    body: Annotated[LiftRequest, Body()] = _NO_LIFT_DETAILS,
) -> Response:
    """The reason (default `other`) and the optional note are kept in the restriction's history
    and in the audit log."""
    work = partial(
        service.lift,
        hashtag=hashtag,
        country=country,
        reason=LiftCause(body.reason.value),
        actor=actor,
        now=datetime.now(UTC),
        note=body.note,
    )
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    # One found past its expiry is expired (and that committed) even though the answer is 404.
    outcome = await write(runtime, work, response)
    if outcome.restriction is None:
        raise RestrictionNotFoundError(hashtag, country)
    return response


@router.get(
    "/hashtags/{hashtag}/restrictions",
    response_model=HashtagRestrictions,
    summary="A hashtag's restrictions, and where it may not trend now",
    responses={422: ERRORS[422], 503: ERRORS[503]},
)
async def list_hashtag_restrictions(
    runtime: RuntimeDep,
    hashtag: HashtagPath,
    include_lifted: Annotated[bool, Query(description="Also return lifted ones.")] = False,
) -> HashtagRestrictions:
    found = await read(
        runtime, partial(service.restrictions_of, hashtag=hashtag, include_lifted=include_lifted)
    )
    return HashtagRestrictions(
        hashtag=found.hashtag,
        restricted_in_countries=found.restricted_in_countries,
        restrictions=[_disclosed(item) for item in found.restrictions],
    )


def _runtime(request: Request) -> Runtime:
    # Not ``RuntimeDep``: FastAPI's solving of a dependency costs more than a lookup from
    # memory does.
    runtime: Runtime = request.app.state.runtime
    return runtime


def _explanation(
    hashtag: str, country: str, eligible: bool, found: list[service.RestrictionWithOrder]
) -> EligibilityExplanation:
    return EligibilityExplanation(
        restrictions=[
            ExplainedRestriction(
                country=item.restriction.country,
                reason=item.restriction.reason,
                order_ref=item.restriction.order_ref,
                created_at=item.restriction.created_at,
                expires_at=item.restriction.expires_at,
                order=order_view(item.order),
            )
            for item in found
        ],
        message=service.eligibility_message(
            hashtag, country, eligible=eligible, restrictions=found
        ),
    )


@router.get(
    "/hashtags/eligible",
    response_model=EligibilityRead,
    summary="May this hashtag trend and be suggested to viewers in this country?",
    responses={
        422: {"model": ErrorResponse, "description": "Invalid hashtag, country or `at`."},
        503: {
            "model": ErrorResponse,
            "description": "The process could not reach `min_revision` within 1 s (retry); or, "
            "with `explain` or `at`, the database is unavailable.",
        },
    },
)
async def get_hashtag_eligibility(
    request: Request,
    hashtag: Annotated[Hashtag, Query(description="The hashtag, with or without `#`.")],
    country: Annotated[ViewerCountry, Query(description="Viewer's country (ISO 3166-1 alpha-2).")],
    min_revision: MinRevision = None,
    explain: Annotated[
        bool,
        Query(
            description="Also return the restrictions behind the answer and their legal orders "
            '(a sealed one only as `{"sealed": true}`). Reads the database.'
        ),
    ] = False,
    at: Annotated[
        PastInstant | None,
        Query(
            description="Answer for this past RFC 3339 instant, from the restrictions' history "
            "(lifts and expiries honoured). Reads the database; not in the future (a minute of "
            "clock skew is tolerated).",
            examples=["2021-02-10T00:00:00Z"],
        ),
    ] = None,
) -> Response:
    """Answered from memory: `eligible` is false when the hashtag is restricted in `country` or
    in all countries (`XX`). With `explain=true` the answer is the same (from memory) and
    `explanation` says why; with `at` the answer is for that instant, from the database."""
    runtime = _runtime(request)
    await require_revision(runtime, min_revision)
    if not explain and at is None:
        eligible = not runtime.replica.hashtags.is_restricted(hashtag, country)
        return JsonResponse({"hashtag": hashtag, "country": country, "eligible": eligible})
    if at is None:
        work = partial(service.active_restrictions, hashtag=hashtag, country=country)
    else:
        work = partial(service.restrictions_at, hashtag=hashtag, country=country, at=at)
    found = await read(runtime, work)
    # Now: the in-memory answer, exactly as a plain lookup gives it. In the past: the history.
    if at is None:
        eligible = not runtime.replica.hashtags.is_restricted(hashtag, country)
    else:
        eligible = not found
    answer = EligibilityRead(
        hashtag=hashtag,
        country=country,
        eligible=eligible,
        at=at,
        explanation=_explanation(hashtag, country, eligible, found) if explain else None,
    )
    left_out = {name for name in ("at", "explanation") if getattr(answer, name) is None}
    return JsonResponse(answer.model_dump(mode="json", exclude=left_out))


def _issue(loc: list[str | int], msg: str, kind: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": kind}


def parse_batch(body: bytes) -> tuple[str, list[str], list[str]]:
    """(country, the hashtags as given, normalised), or ``RequestValidationError`` naming every
    invalid field (an item by its index)."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise RequestValidationError(
            [_issue(["body"], "must be a JSON object", "json_invalid")]
        ) from None
    if type(parsed) is not dict:
        raise RequestValidationError([_issue(["body"], "must be a JSON object", "model_type")])
    issues = [
        _issue(["body", key], "unknown field", "extra_forbidden")
        for key in parsed
        if key not in ("country", "hashtags")
    ]
    country = ""
    try:
        country = identifiers.parse_viewer_country(parsed.get("country"))
    except ValueError:
        kind = "missing" if "country" not in parsed else "country_invalid"
        issues.append(_issue(["body", "country"], identifiers.COUNTRY_ERROR, kind))
    given = parsed.get("hashtags")
    normalized: list[str | None] = []
    if type(given) is list and 1 <= len(given) <= MAX_HASHTAG_BATCH:
        try:  # the common case, every item a valid tag: one C-level pass over the cache
            normalized = list(map(identifiers.normalize_hashtag, given))
        except TypeError:  # an item that is not a string (nor None)
            normalized = [None]
        if None not in normalized and not issues:
            return country, given, normalized  # type: ignore[return-value]  # no None in it
    if type(given) is not list or not 1 <= len(given) <= MAX_HASHTAG_BATCH:
        kind = "missing" if "hashtags" not in parsed else "list_invalid"
        issues.append(
            _issue(
                ["body", "hashtags"],
                f"must be a list of 1 to {MAX_HASHTAG_BATCH} hashtags",
                kind,
            )
        )
        given = []
    else:
        normalize = identifiers.normalize_hashtag
        for position, raw in enumerate(given):
            if type(raw) is not str or normalize(raw) is None:
                issues.append(
                    _issue(
                        ["body", "hashtags", position],
                        identifiers.HASHTAG_ERROR,
                        "hashtag_invalid",
                    )
                )
    raise RequestValidationError(issues)


@router.post(
    "/hashtags/eligible",
    response_model=EligibilityBatchRead,
    summary="Which of up to 1,000 hashtags may trend and be suggested in one country",
    responses={
        422: {
            "model": ErrorResponse,
            "description": "Invalid country or hashtag list; an invalid item by its index.",
        },
        413: ERRORS[413],
        503: STALE,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": EligibilityBatchRequest.model_json_schema()}
            },
        }
    },
)
async def get_hashtag_eligibility_batch(
    request: Request, min_revision: MinRevision = None
) -> Response:
    """For the trends and search-suggestion services' candidate lists: results in request order,
    duplicates kept, each with the hashtag as given and normalised; from memory only."""
    runtime = _runtime(request)
    country, given, normalized = parse_batch(await request.body())
    await require_revision(runtime, min_revision)
    eligible = runtime.replica.hashtags.eligible_many(normalized, country)
    return Response(render_batch(country, given, normalized, eligible), media_type=JSON)


JSON = "application/json"
_AFTER_GIVEN = '","normalized":"'
_AFTER_TAG = ('","eligible":false},{"hashtag":"', '","eligible":true},{"hashtag":"')
_NEXT_ITEM = len(',{"hashtag":"')


def render_batch(
    country: str, given: list[str], normalized: list[str], eligible: list[bool]
) -> bytes:
    """The batch answer, byte for byte what orjson writes for ``{"country", "results"}``,
    without building 1,000 dicts. Plain concatenation is safe JSON here: a valid hashtag, as
    given or normalised, holds no quote, backslash or control character (they are neither
    letters, marks, digits nor ``_``, and NFKC maps nothing onto them)."""
    parts: list[str] = [""] * (4 * len(given))
    parts[0::4] = given
    parts[1::4] = [_AFTER_GIVEN] * len(given)
    parts[2::4] = normalized
    parts[3::4] = [_AFTER_TAG[flag] for flag in eligible]
    items = "".join(parts)
    return f'{{"country":"{country}","results":[{{"hashtag":"{items[:-_NEXT_ITEM]}]}}'.encode()
