"""POST /webhooks/qualia on moto, delivered again: a redelivery is a duplicate of the original
event (also once its idempotency record is gone, also when concurrent); the same webhook id
with another body is a conflict."""

from __future__ import annotations

import threading
from typing import Any

from tests.support import tables
from tests.support.flows import post_webhook, queued_downloads
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


def test_duplicate_is_recognised_after_the_idempotency_record_is_gone(pipeline: Pipeline) -> None:
    # Given an accepted delivery whose idempotency record has since expired (deleted here)
    body = order_webhook_body()
    headers = signed_headers(body, pipeline.signing_secret)
    first = response_json(post_webhook(body, headers))["data"]
    idempotency = tables.idempotency()
    for item in idempotency.scan()["Items"]:
        idempotency.delete_item(Key={"id": item["id"]})

    # When the sender delivers it again, Then the events table still says duplicate
    again = post_webhook(body, headers)
    assert again["statusCode"] == 200
    assert response_json(again)["data"]["event_id"] == first["event_id"]
    assert response_json(again)["data"]["duplicate"] is True
    assert len(queued_downloads(pipeline)) == 1


def test_concurrent_deliveries_of_one_webhook_id_create_one_event(pipeline: Pipeline) -> None:
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
