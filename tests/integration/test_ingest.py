"""POST /webhooks/qualia on moto: a signed, valid webhook is recorded, queued and acknowledged,
under its webhook id (or svix-id) and its correlation id."""

from __future__ import annotations

import json

from tests.support.flows import ORDER_WEBHOOK_PATH, event_item, post_webhook, queued_downloads
from tests.support.lambda_events import FakeLambdaContext, api_event, response_json
from tests.support.pipeline import Pipeline
from tests.support.signing import (
    order_webhook_body,
    signed_headers,
    svix_signed_headers,
)


def test_signed_valid_webhook_is_recorded_queued_and_acknowledged(pipeline: Pipeline) -> None:
    # Given a signed order webhook with a caller request id
    body = order_webhook_body("QO-100001")
    headers = {**signed_headers(body, pipeline.signing_secret), "X-Request-ID": "req-abc-1"}

    # When it is posted
    response = post_webhook(body, headers)

    # Then it is accepted, recorded QUEUED with history, and queued with its ids
    assert response["statusCode"] == 202
    assert response["multiValueHeaders"]["X-Request-ID"] == ["req-abc-1"]
    payload = response_json(response)
    assert payload["status"] == "success"
    assert payload["request_id"] == "req-abc-1"
    assert payload["error"] is None
    data = payload["data"]
    assert data["duplicate"] is False
    assert data["status"] == "QUEUED"
    item = event_item(data["event_id"])
    assert item["status"] == "QUEUED"
    assert [h["status"] for h in item["status_history"]] == ["RECEIVED", "QUEUED"]
    assert item["order_id"] == "QO-100001"
    assert item["correlation_id"] == "req-abc-1"
    assert item["webhook_id"] == headers["webhook-id"]
    messages = queued_downloads(pipeline)
    assert len(messages) == 1
    assert json.loads(messages[0]["Body"])["event_id"] == data["event_id"]
    attributes = messages[0]["MessageAttributes"]
    assert attributes["correlation_id"]["StringValue"] == "req-abc-1"
    assert attributes["event_id"]["StringValue"] == data["event_id"]


def test_a_svix_signed_delivery_is_accepted_and_deduplicated_on_its_svix_id(
    pipeline: Pipeline,
) -> None:
    # Given an order webhook signed by the svix library and sent with svix-* headers only
    body = order_webhook_body("QO-100002")
    headers = svix_signed_headers(body, pipeline.signing_secret, msg_id="msg_svix_ingest_1")
    assert not any(name.startswith("webhook-") for name in headers)

    # When it is posted
    first = post_webhook(body, headers)

    # Then it is accepted and recorded under its svix-id
    assert first["statusCode"] == 202
    accepted = response_json(first)["data"]
    assert accepted["duplicate"] is False
    assert event_item(accepted["event_id"])["webhook_id"] == "msg_svix_ingest_1"

    # When the sender retries the same message (same svix-id, freshly signed)
    again = post_webhook(
        body, svix_signed_headers(body, pipeline.signing_secret, msg_id="msg_svix_ingest_1")
    )

    # Then it is a duplicate of the first, and nothing more is queued
    assert again["statusCode"] == 200
    assert response_json(again)["data"] == {
        "event_id": accepted["event_id"],
        "status": "QUEUED",
        "duplicate": True,
    }
    assert len(queued_downloads(pipeline)) == 1


def test_without_x_request_id_the_api_gateway_request_id_is_the_correlation_id(
    pipeline: Pipeline,
) -> None:
    from ingest.handler import handler

    body = order_webhook_body()
    event = api_event(
        "POST", ORDER_WEBHOOK_PATH, body=body, headers=signed_headers(body, pipeline.signing_secret)
    )
    response = handler(event, FakeLambdaContext())
    assert response_json(response)["request_id"] == event["requestContext"]["requestId"]
    attributes = queued_downloads(pipeline)[0]["MessageAttributes"]
    assert attributes["correlation_id"]["StringValue"] == event["requestContext"]["requestId"]
