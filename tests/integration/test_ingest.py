"""POST /webhooks/qualia on moto: verify, validate, de-duplicate, record, queue."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import Pipeline
from tests.support.lambda_events import FakeLambdaContext, api_event, response_json
from tests.support.pump import receive
from tests.support.signing import (
    new_secret,
    order_webhook_body,
    signed_headers,
    svix_signed_headers,
)

PATH = "/webhooks/qualia"


def post(body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    from ingest.handler import handler

    return handler(api_event("POST", PATH, body=body, headers=headers), FakeLambdaContext())


def event_item(event_id: str) -> dict[str, Any]:
    table = boto3.resource("dynamodb", region_name="us-east-1").Table("events")
    return table.get_item(Key={"event_id": event_id}).get("Item", {})


def queued(pipeline: Pipeline) -> list[dict[str, Any]]:
    return receive(pipeline.resources.download.url)


def test_signed_valid_webhook_is_recorded_queued_and_acknowledged(pipeline: Pipeline) -> None:
    # Given a signed order webhook with a caller request id
    body = order_webhook_body("QO-100001")
    headers = {**signed_headers(body, pipeline.signing_secret), "X-Request-ID": "req-abc-1"}

    # When it is posted
    response = post(body, headers)

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
    messages = queued(pipeline)
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
    first = post(body, headers)

    # Then it is accepted and recorded under its svix-id
    assert first["statusCode"] == 202
    accepted = response_json(first)["data"]
    assert accepted["duplicate"] is False
    assert event_item(accepted["event_id"])["webhook_id"] == "msg_svix_ingest_1"

    # When the sender retries the same message (same svix-id, freshly signed)
    again = post(
        body, svix_signed_headers(body, pipeline.signing_secret, msg_id="msg_svix_ingest_1")
    )

    # Then it is a duplicate of the first, and nothing more is queued
    assert again["statusCode"] == 200
    assert response_json(again)["data"] == {
        "event_id": accepted["event_id"],
        "status": "QUEUED",
        "duplicate": True,
    }
    assert len(queued(pipeline)) == 1


def test_without_x_request_id_the_api_gateway_request_id_is_the_correlation_id(
    pipeline: Pipeline,
) -> None:
    from ingest.handler import handler

    body = order_webhook_body()
    event = api_event(
        "POST", PATH, body=body, headers=signed_headers(body, pipeline.signing_secret)
    )
    response = handler(event, FakeLambdaContext())
    assert response_json(response)["request_id"] == event["requestContext"]["requestId"]
    attributes = queued(pipeline)[0]["MessageAttributes"]
    assert attributes["correlation_id"]["StringValue"] == event["requestContext"]["requestId"]


def test_second_delivery_is_a_duplicate_with_the_original_event_id(pipeline: Pipeline) -> None:
    body = order_webhook_body()
    headers = signed_headers(body, pipeline.signing_secret)
    first = response_json(post(body, headers))

    second = post(body, headers)

    assert second["statusCode"] == 200
    data = response_json(second)["data"]
    assert data == {"event_id": first["data"]["event_id"], "status": "QUEUED", "duplicate": True}
    assert len(queued(pipeline)) == 1


def test_duplicate_is_recognised_after_the_idempotency_record_is_gone(pipeline: Pipeline) -> None:
    # Given an accepted delivery whose idempotency record has since expired (deleted here)
    body = order_webhook_body()
    headers = signed_headers(body, pipeline.signing_secret)
    first = response_json(post(body, headers))["data"]
    idempotency = boto3.resource("dynamodb", region_name="us-east-1").Table("idempotency")
    for item in idempotency.scan()["Items"]:
        idempotency.delete_item(Key={"id": item["id"]})

    # When the sender delivers it again, Then the events table still says duplicate
    again = post(body, headers)
    assert again["statusCode"] == 200
    assert response_json(again)["data"]["event_id"] == first["event_id"]
    assert response_json(again)["data"]["duplicate"] is True
    assert len(queued(pipeline)) == 1


def test_concurrent_deliveries_of_one_webhook_id_create_one_event(pipeline: Pipeline) -> None:
    body = order_webhook_body()
    headers = signed_headers(body, pipeline.signing_secret)
    barrier = threading.Barrier(4)
    responses: list[dict[str, Any]] = []

    def deliver() -> None:
        barrier.wait(timeout=10)
        responses.append(post(body, headers))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    statuses = sorted(r["statusCode"] for r in responses)
    assert statuses.count(202) == 1, statuses
    # The others either saw it in flight (409, retry) or finished (200 duplicate).
    assert set(statuses) <= {200, 202, 409}
    assert len(queued(pipeline)) == 1
    events = boto3.resource("dynamodb", region_name="us-east-1").Table("events").scan()["Items"]
    assert len(events) == 1


def test_enqueue_failure_answers_503_and_the_retry_queues_the_event(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared import aws_clients

    body = order_webhook_body()
    headers = signed_headers(body, pipeline.signing_secret)

    def refuse(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "ServiceUnavailable"}}, "SendMessage")

    # Given SQS refuses the first enqueue
    with monkeypatch.context() as patch:
        patch.setattr(aws_clients.sqs(), "send_message", refuse)
        failed = post(body, headers)
    assert failed["statusCode"] == 503
    assert response_json(failed)["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert failed["multiValueHeaders"]["Retry-After"] == ["5"]
    events = boto3.resource("dynamodb", region_name="us-east-1").Table("events").scan()["Items"]
    assert [e["status"] for e in events] == ["RECEIVED"]
    event_id = str(events[0]["event_id"])

    # When SQS is back and the sender retries the same delivery
    retried = post(body, headers)

    # Then the retry queues the event rather than calling it a duplicate
    assert retried["statusCode"] == 202
    assert response_json(retried)["data"] == {
        "event_id": event_id,
        "status": "QUEUED",
        "duplicate": False,
    }
    assert event_item(event_id)["status"] == "QUEUED"
    assert len(queued(pipeline)) == 1


def test_signature_rotation_accepts_a_body_signed_with_the_previous_secret(
    pipeline: Pipeline,
) -> None:
    # Given the secret holds the new key first and the old one second
    old = pipeline.signing_secret
    new = new_secret()
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
        SecretId="signing", SecretString=f"{new} {old}"
    )
    from tests.conftest import cold_start

    cold_start()
    body = order_webhook_body()
    assert post(body, signed_headers(body, old))["statusCode"] == 202
    body2 = order_webhook_body("QO-200002")
    assert post(body2, signed_headers(body2, new))["statusCode"] == 202


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda h, b: ({**h, "webhook-signature": "v1,AAAA"}, b), id="wrong-signature"),
        pytest.param(lambda h, b: (h, b.replace(b"QO-", b"QO-9")), id="tampered-body"),
        pytest.param(
            lambda h, b: ({k: v for k, v in h.items() if k != "webhook-id"}, b), id="no-id"
        ),
        pytest.param(
            lambda h, b: ({k: v for k, v in h.items() if k != "webhook-signature"}, b),
            id="no-signature",
        ),
        pytest.param(lambda h, b: ({**h, "webhook-signature": "garbage"}, b), id="malformed"),
    ],
)
def test_bad_signatures_are_401_auth_error_and_nothing_is_recorded(
    pipeline: Pipeline, mutate: Any
) -> None:
    body = order_webhook_body()
    headers, sent = mutate(signed_headers(body, pipeline.signing_secret), body)
    response = post(sent, headers)
    assert response["statusCode"] == 401
    assert response_json(response)["error"]["code"] == "AUTH_ERROR"
    assert response_json(response)["status"] == "failure"
    assert queued(pipeline) == []


def test_stale_signature_is_401(pipeline: Pipeline) -> None:
    body = order_webhook_body()
    stale = datetime.now(UTC) - timedelta(minutes=6)
    response = post(body, signed_headers(body, pipeline.signing_secret, at=stale))
    assert response["statusCode"] == 401
    assert "too old" in response_json(response)["error"]["message"]


def test_invalid_body_is_400_listing_every_field(pipeline: Pipeline) -> None:
    body = json.dumps(
        {"order_id": "QO-12", "event_type": "order.shipped", "timestamp": "2026-11-20T10:00:00"}
    ).encode()
    response = post(body, signed_headers(body, pipeline.signing_secret))
    assert response["statusCode"] == 400
    error = response_json(response)["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert sorted(d["field"] for d in error["details"]) == ["event_type", "order_id", "timestamp"]
    assert queued(pipeline) == []


def test_missing_fields_are_each_listed(pipeline: Pipeline) -> None:
    body = b"{}"
    response = post(body, signed_headers(body, pipeline.signing_secret))
    fields = sorted(d["field"] for d in response_json(response)["error"]["details"])
    assert fields == ["event_type", "order_id", "timestamp"]


def test_malformed_json_is_400(pipeline: Pipeline) -> None:
    body = b'{"order_id": "QO-123456",'
    response = post(body, signed_headers(body, pipeline.signing_secret))
    assert response["statusCode"] == 400
    assert response_json(response)["error"]["code"] == "INVALID_JSON"


def test_non_json_content_type_is_415(pipeline: Pipeline) -> None:
    body = order_webhook_body()
    headers = {**signed_headers(body, pipeline.signing_secret), "Content-Type": "text/plain"}
    response = post(body, headers)
    assert response["statusCode"] == 415
    assert response_json(response)["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_body_over_the_limit_is_413(pipeline: Pipeline) -> None:
    body = order_webhook_body(padding="x" * 9000)  # the tests' limit is 8192 bytes
    response = post(body, signed_headers(body, pipeline.signing_secret))
    assert response["statusCode"] == 413
    assert response_json(response)["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_same_webhook_id_with_a_different_body_is_a_conflict(pipeline: Pipeline) -> None:
    body = order_webhook_body("QO-300003")
    headers = signed_headers(body, pipeline.signing_secret, webhook_id="msg_reused")
    assert post(body, headers)["statusCode"] == 202
    other = order_webhook_body("QO-300004")
    response = post(other, signed_headers(other, pipeline.signing_secret, webhook_id="msg_reused"))
    assert response["statusCode"] == 409
    assert response_json(response)["error"]["code"] == "CONFLICT"
    assert len(queued(pipeline)) == 1


def test_unknown_route_is_404_in_the_envelope(pipeline: Pipeline) -> None:
    from ingest.handler import handler

    response = handler(api_event("GET", "/nope", headers={}), FakeLambdaContext())
    assert response["statusCode"] == 404
    assert response_json(response)["error"]["code"] == "NOT_FOUND"


def test_secrets_manager_down_is_503_so_the_sender_retries(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared import aws_clients

    def refuse(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "InternalServiceError"}}, "GetSecretValue")

    body = order_webhook_body()
    with monkeypatch.context() as patch:
        patch.setattr(aws_clients.secretsmanager(), "get_secret_value", refuse)
        response = post(body, signed_headers(body, pipeline.signing_secret))

    assert response["statusCode"] == 503
    assert response_json(response)["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert queued(pipeline) == []


def test_events_table_down_is_503_and_nothing_is_acknowledged(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared import aws_clients

    def refuse(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "PutItem")

    body = order_webhook_body()
    headers = signed_headers(body, pipeline.signing_secret)
    with monkeypatch.context() as patch:
        # The events table goes through the resource's client; Powertools has its own client.
        patch.setattr(aws_clients.dynamodb().meta.client, "put_item", refuse)
        response = post(body, headers)
    assert response["statusCode"] == 503

    # And the sender's retry, once DynamoDB is back, is accepted (not a duplicate)
    retried = post(body, headers)
    assert retried["statusCode"] == 202
    assert response_json(retried)["data"]["duplicate"] is False
