"""What the rule routers of every subject (accounts, posts) take from a request alike."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from app.schemas.common import RuleCountry
from app.schemas.rules import LiftRequest, RuleTermsWrite
from app.services.withholdings import RuleTerms

CountryPath = Annotated[RuleCountry, Path(description="Country code, or XX for all countries.")]

# An optional body typed as the model itself (not `| None`): generated clients then simply omit
# it; openapi-python-client cannot serialise an unset `Model | None` body.
NO_LIFT_DETAILS = LiftRequest()


def terms_of(body: RuleTermsWrite) -> RuleTerms:
    return RuleTerms(reason=body.reason, order_ref=body.order_ref, expires_at=body.expires_at)
