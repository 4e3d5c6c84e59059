"""docs/openapi.json: generated from the routes, never stale, every answer in the envelope."""

from __future__ import annotations

import json

from local.openapi import DOCUMENT, render

METHODS = {"get", "post", "put", "delete", "patch"}


def test_the_checked_in_document_is_what_the_code_generates() -> None:
    # When this fails: run `make openapi` and commit docs/openapi.json with the change.
    assert DOCUMENT.read_text() == render()


def test_every_route_of_every_api_function_is_documented() -> None:
    paths = json.loads(DOCUMENT.read_text())["paths"]
    operations = {(path, m) for path, ops in paths.items() for m in ops if m in METHODS}
    assert operations == {
        ("/webhooks/qualia", "post"),
        ("/webhooks/zoho/{entity}", "post"),
        ("/catalogs/{catalog_id}/enrichments", "post"),
        ("/catalogs/{catalog_id}/enrichments", "get"),
        ("/users/{user_id}/enrichments", "get"),
        ("/events", "get"),
        ("/events/{event_id}", "get"),
        ("/events/{event_id}/replay", "post"),
        ("/stats", "get"),
        ("/health", "get"),
        ("/dlq/{queue}/redrive", "post"),
        ("/dlq/{queue}/redrive", "get"),
    }


def test_every_answer_is_an_envelope_and_errors_include_400_and_500() -> None:
    document = json.loads(DOCUMENT.read_text())
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"400", "500"} <= set(responses), (path, method)
            for status, response in responses.items():
                ref = response["content"]["application/json"]["schema"]["$ref"]
                expected = "SuccessEnvelope" if status.startswith("2") else "ErrorEnvelope"
                assert ref == f"#/components/schemas/{expected}", (path, method, status)
            assert operation["security"], (path, method)


def test_bodies_parsed_by_the_handlers_are_described_by_their_models() -> None:
    paths = json.loads(DOCUMENT.read_text())["paths"]
    bodies = {
        path: ops["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        for path, ops in paths.items()
        if "requestBody" in ops.get("post", {})
    }
    assert bodies == {
        "/webhooks/qualia": "#/components/schemas/OrderWebhook",
        "/webhooks/zoho/{entity}": "#/components/schemas/ErpWebhook",
        "/catalogs/{catalog_id}/enrichments": "#/components/schemas/EnrichmentRequest",
    }
