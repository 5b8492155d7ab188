"""The committed OpenAPI document is the app's, byte for byte, and reads well."""

from __future__ import annotations

import json

from app import openapi
from app.identifiers import ACCOUNT_PATTERN


def test_committed_document_matches_the_app() -> None:
    assert openapi.DOCUMENT.read_bytes() == openapi.render(), (
        "openapi/openapi.json is stale: run `.venv/bin/withheld openapi` and commit it"
    )


def test_operation_ids_are_readable() -> None:
    document = json.loads(openapi.render())
    ids = {
        operation["operationId"]
        for path in document["paths"].values()
        for operation in path.values()
    }
    assert {
        "get_visibility",
        "get_visibility_batch",
        "withhold_account",
        "lift_withholding",
        "list_withholdings",
        "withhold_in_bulk",
        "get_health",
        "get_readiness",
    } <= ids


def test_ids_are_documented_as_strings_with_their_pattern() -> None:
    document = json.loads(openapi.render())
    parameters = document["paths"]["/visible"]["get"]["parameters"]
    account = next(p for p in parameters if p["name"] == "account")
    assert account["schema"]["type"] == "string"
    assert account["schema"]["pattern"] == ACCOUNT_PATTERN
