"""POST /webhooks/qualia on moto while a dependency is down (SQS, Secrets Manager, DynamoDB):
503, so the sender retries, and the retry is accepted once it is back."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support import tables
from tests.support.flows import event_item, post_webhook, queued_downloads
from tests.support.lambda_events import response_json
from tests.support.pipeline import Pipeline
from tests.support.signing import (
    order_webhook_body,
    signed_headers,
)


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
        failed = post_webhook(body, headers)
    assert failed["statusCode"] == 503
    assert response_json(failed)["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert failed["multiValueHeaders"]["Retry-After"] == ["5"]
    events = tables.all_events()
    assert [e["status"] for e in events] == ["RECEIVED"]
    event_id = str(events[0]["event_id"])

    # When SQS is back and the sender retries the same delivery
    retried = post_webhook(body, headers)

    # Then the retry queues the event rather than calling it a duplicate
    assert retried["statusCode"] == 202
    assert response_json(retried)["data"] == {
        "event_id": event_id,
        "status": "QUEUED",
        "duplicate": False,
    }
    assert event_item(event_id)["status"] == "QUEUED"
    assert len(queued_downloads(pipeline)) == 1


def test_secrets_manager_down_is_503_so_the_sender_retries(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared import aws_clients

    def refuse(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "InternalServiceError"}}, "GetSecretValue")

    body = order_webhook_body()
    with monkeypatch.context() as patch:
        patch.setattr(aws_clients.secretsmanager(), "get_secret_value", refuse)
        response = post_webhook(body, signed_headers(body, pipeline.signing_secret))

    assert response["statusCode"] == 503
    assert response_json(response)["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert queued_downloads(pipeline) == []


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
        patch.setattr(aws_clients.dynamodb_client(), "put_item", refuse)
        response = post_webhook(body, headers)
    assert response["statusCode"] == 503

    # And the sender's retry, once DynamoDB is back, is accepted (not a duplicate)
    retried = post_webhook(body, headers)
    assert retried["statusCode"] == 202
    assert response_json(retried)["data"]["duplicate"] is False
