"""GET /events/{event_id} on moto."""

from __future__ import annotations

import uuid
from typing import Any

from tests.conftest import Pipeline
from tests.support.flows import accept_webhook
from tests.support.lambda_events import FakeLambdaContext, api_event, response_json


def get_event(event_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    from events_api.handler import handler

    event = api_event(
        "GET",
        f"/events/{event_id}",
        resource="/events/{event_id}",
        headers=headers or {},
        path_parameters={"event_id": event_id},
    )
    return handler(event, FakeLambdaContext())


def test_an_event_is_returned_with_its_status_and_history(pipeline: Pipeline) -> None:
    event_id = accept_webhook(pipeline.signing_secret, "QO-424242")

    response = get_event(event_id, {"X-Request-ID": "ops-1"})

    assert response["statusCode"] == 200
    body = response_json(response)
    assert body["request_id"] == "ops-1"
    assert body["data"]["event_id"] == event_id
    assert body["data"]["status"] == "QUEUED"
    assert body["data"]["order_id"] == "QO-424242"
    assert [h["status"] for h in body["data"]["status_history"]] == ["RECEIVED", "QUEUED"]
    assert "expires_at" not in body["data"]


def test_an_unknown_event_is_404_not_found(pipeline: Pipeline) -> None:
    response = get_event(str(uuid.uuid4()))
    assert response["statusCode"] == 404
    body = response_json(response)
    assert body["status"] == "failure"
    assert body["error"]["code"] == "NOT_FOUND"
    assert body["data"] is None


def test_a_malformed_event_id_is_400(pipeline: Pipeline) -> None:
    response = get_event("not-a-uuid")
    assert response["statusCode"] == 400
    assert response_json(response)["error"]["code"] == "VALIDATION_ERROR"
