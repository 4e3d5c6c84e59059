"""POST /webhooks/qualia on moto, delivered again: a redelivery is a duplicate of the original
event (the event is its own idempotency record, also when concurrent); one that arrives while
another delivery holds the event is 409, one whose holder died takes it over; the same webhook id
with another body is a conflict. An accepted delivery costs three AWS calls."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest

from shared.dynamo import epoch_millis
from shared.event_recorder import CLAIM, HELD_UNTIL
from tests.support import tables
from tests.support.aws import REGION
from tests.support.flows import event_item, history, post_webhook, queued_downloads
from tests.support.lambda_events import response_json
from tests.support.pipeline import Pipeline
from tests.support.signing import (
    order_webhook_body,
    signed_headers,
)


def test_second_delivery_is_a_duplicate_with_the_original_event_id(pipeline: Pipeline) -> None:
    body = order_webhook_body()
    headers = signed_headers(body, pipeline.signing_secret)
    first = response_json(post_webhook(body, headers))

    second = post_webhook(body, headers)

    assert second["statusCode"] == 200
    data = response_json(second)["data"]
    assert data == {"event_id": first["data"]["event_id"], "status": "QUEUED", "duplicate": True}
    assert len(queued_downloads(pipeline)) == 1


def test_the_event_is_its_own_idempotency_record(pipeline: Pipeline) -> None:
    # Given an accepted delivery
    body = order_webhook_body()
    headers = signed_headers(body, pipeline.signing_secret)
    first = response_json(post_webhook(body, headers))["data"]

    # Then nothing else books it: no idempotency record, no hold left on the event
    assert tables.idempotency().scan()["Items"] == []
    item = event_item(first["event_id"])
    assert not {CLAIM, HELD_UNTIL} & set(item)
    assert item["payload_sha256"]

    # And a redelivery, however late, is still recognised from the event
    again = post_webhook(body, headers)
    assert again["statusCode"] == 200
    assert response_json(again)["data"]["event_id"] == first["event_id"]
    assert response_json(again)["data"]["duplicate"] is True
    assert len(queued_downloads(pipeline)) == 1


def test_a_delivery_while_another_holds_the_event_is_409_retry(pipeline: Pipeline) -> None:
    # Given an event held by a delivery still enqueueing it (its hold runs for a minute)
    body = order_webhook_body()
    headers = signed_headers(body, pipeline.signing_secret)
    event_id = response_json(post_webhook(body, headers))["data"]["event_id"]
    _hold(event_id, until=epoch_millis() + 60_000)

    # When the same delivery arrives, Then it is told to retry shortly
    response = post_webhook(body, headers)
    assert response["statusCode"] == 409
    assert response["multiValueHeaders"]["Retry-After"] == ["1"]
    assert len(queued_downloads(pipeline)) == 1


def test_a_delivery_whose_holder_died_is_taken_over_and_queued(pipeline: Pipeline) -> None:
    # Given a delivery that recorded its event and died before queueing it (its hold lapsed)
    body = order_webhook_body()
    headers = signed_headers(body, pipeline.signing_secret)
    event_id = response_json(post_webhook(body, headers))["data"]["event_id"]
    _hold(event_id, until=epoch_millis() - 1)
    for message in queued_downloads(pipeline):  # as if it had never been sent
        boto3.client("sqs", region_name=REGION).delete_message(
            QueueUrl=pipeline.resources.download.url, ReceiptHandle=message["ReceiptHandle"]
        )

    # When the sender retries, Then the retry queues it as the first answer would have
    retried = post_webhook(body, headers)
    assert retried["statusCode"] == 202
    assert response_json(retried)["data"] == {
        "event_id": event_id,
        "status": "QUEUED",
        "duplicate": False,
    }
    assert history(event_id) == ["RECEIVED", "QUEUED"]


def test_an_accepted_delivery_costs_a_put_a_send_and_an_update(pipeline: Pipeline) -> None:
    # Given the functions' clients, counted
    from shared import aws_clients

    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(f"{model.service_model.service_name}.{model.name}")

    for client in (aws_clients.dynamodb_client(), aws_clients.sqs()):
        client.meta.events.register("before-parameter-build", record)
    body = order_webhook_body()
    headers = signed_headers(body, pipeline.signing_secret)
    post_webhook(body, headers)  # the container's first delivery also reads its secret
    calls.clear()

    # When a new delivery is accepted
    other = order_webhook_body("QO-100009")
    assert post_webhook(other, signed_headers(other, pipeline.signing_secret))["statusCode"] == 202

    # Then it made three calls
    assert calls == ["dynamodb.PutItem", "sqs.SendMessage", "dynamodb.UpdateItem"]


def _hold(event_id: str, *, until: int) -> None:
    """Put the event back in the state a delivery leaves it in while it enqueues."""
    tables.events().update_item(
        Key={"event_id": event_id},
        UpdateExpression="SET #claim = :token, #until = :until",
        ExpressionAttributeNames={"#claim": CLAIM, "#until": HELD_UNTIL},
        ExpressionAttributeValues={":token": "another-delivery", ":until": until},
    )


def test_concurrent_deliveries_of_one_webhook_id_create_one_event(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Lambda runs one invocation per execution environment at a time; here four share one
    # process, and Powertools' metric set is process-wide: one delivery's flush could empty it
    # between another's emptiness check and its serialisation. Flushes take turns, as on Lambda.
    from shared.observability import metrics

    flushing = threading.Lock()
    flush = metrics.provider.flush_metrics

    def flush_in_turn(raise_on_empty_metrics: bool = False) -> None:
        with flushing:
            flush(raise_on_empty_metrics=raise_on_empty_metrics)

    monkeypatch.setattr(metrics.provider, "flush_metrics", flush_in_turn)
    body = order_webhook_body()
    headers = signed_headers(body, pipeline.signing_secret)
    barrier = threading.Barrier(4)
    responses: list[dict[str, Any]] = []

    def deliver() -> None:
        barrier.wait(timeout=10)
        responses.append(post_webhook(body, headers))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(responses) == 4, "a delivery raised instead of answering"
    statuses = sorted(r["statusCode"] for r in responses)
    assert statuses.count(202) == 1, statuses
    # The others either saw it in flight (409, retry) or finished (200 duplicate).
    assert set(statuses) <= {200, 202, 409}
    assert len(queued_downloads(pipeline)) == 1
    events = tables.all_events()
    assert len(events) == 1


def test_same_webhook_id_with_a_different_body_is_a_conflict(pipeline: Pipeline) -> None:
    body = order_webhook_body("QO-300003")
    headers = signed_headers(body, pipeline.signing_secret, webhook_id="msg_reused")
    assert post_webhook(body, headers)["statusCode"] == 202
    other = order_webhook_body("QO-300004")
    response = post_webhook(
        other, signed_headers(other, pipeline.signing_secret, webhook_id="msg_reused")
    )
    assert response["statusCode"] == 409
    assert response_json(response)["error"]["code"] == "CONFLICT"
    assert len(queued_downloads(pipeline)) == 1
