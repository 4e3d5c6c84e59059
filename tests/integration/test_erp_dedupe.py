"""ERP re-deliveries vs real changes on moto: ingest and sync together. A re-delivery is the same
delivery; a later change is a new event even when its data equals an earlier state."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from tests.support.aws import REGION
from tests.support.erp import accept, entity, post, sync_one
from tests.support.flows import event_item
from tests.support.lambda_events import response_json
from tests.support.pipeline import Pipeline
from tests.support.pump import receive

PRODUCT_A = {"item_id": "I-7", "name": "A"}
PRODUCT_B = {"item_id": "I-7", "name": "B"}


def product(data: dict[str, Any], at: str | None, event_type: str = "update") -> dict[str, Any]:
    document: dict[str, Any] = {
        "event_type": event_type,
        "entity_type": "product",
        "entity_id": "P-7",
        "data": data,
    }
    if at is not None:
        document["occurred_at"] = at
    return document


def deliver_and_sync(pipeline: Pipeline, document: dict[str, Any]) -> str:
    event_id = accept("products", document)
    lane = pipeline.resources.erp_lanes["standard"]
    assert sync_one(lane.url, lane.arn) == {"batchItemFailures": []}
    assert event_item(event_id)["status"] == "PROCESSED"
    return event_id


def test_a_rename_back_to_the_first_name_is_synced(pipeline: Pipeline) -> None:
    # Given A -> B -> A, each sent after the previous one was processed, with a later occurred_at
    steps = [
        product(PRODUCT_A, "2026-11-20T10:00:00Z"),
        product(PRODUCT_B, "2026-11-20T10:05:00Z"),
        product(PRODUCT_A, "2026-11-20T10:10:00Z"),
    ]
    ids = [deliver_and_sync(pipeline, step) for step in steps]

    # Then three events, and the entity ends at A
    assert len(set(ids)) == 3
    stored = entity("product", "P-7")
    assert (stored["data"]["name"], stored["version"], stored["last_event_id"]) == ("A", 3, ids[2])

    # And a true re-delivery of any step is a duplicate of that step's event
    for step, event_id in zip(steps, ids, strict=True):
        again = post("products", step)
        assert again["statusCode"] == 200, again["body"]
        assert response_json(again)["data"] == {
            "event_id": event_id,
            "status": "PROCESSED",
            "duplicate": True,
        }
    assert receive(pipeline.resources.erp_lanes["standard"].url) == []


def test_create_delete_create_leaves_the_entity_present(pipeline: Pipeline) -> None:
    for kind, at in (("create", "2026-11-20T10:00:00Z"), ("delete", "2026-11-20T10:01:00Z"),
                     ("create", "2026-11-20T10:02:00Z")):  # fmt: skip
        deliver_and_sync(pipeline, product(PRODUCT_A, at, kind))
    stored = entity("product", "P-7")
    assert stored["deleted"] is False
    assert stored["data"]["name"] == "A"


def test_without_a_timestamp_a_repeat_of_the_latest_is_a_duplicate(pipeline: Pipeline) -> None:
    first = accept("products", product(PRODUCT_A, None))

    again = post("products", product(PRODUCT_A, None))

    assert again["statusCode"] == 200
    assert response_json(again)["data"]["event_id"] == first
    assert len(receive(pipeline.resources.erp_lanes["standard"].url)) == 1


def test_without_a_timestamp_a_revert_after_another_change_is_synced(pipeline: Pipeline) -> None:
    # Given A -> B -> A with no occurred_at at all, inside the dedupe window
    ids = [deliver_and_sync(pipeline, product(d, None)) for d in (PRODUCT_A, PRODUCT_B, PRODUCT_A)]

    # Then each is an event of its own and the entity ends at A
    assert len(set(ids)) == 3
    assert entity("product", "P-7")["data"]["name"] == "A"


def test_without_a_timestamp_a_failed_enqueue_is_queued_by_the_senders_retry(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared import aws_clients

    # Given the lane refuses the first send
    sqs = aws_clients.sqs()
    original = sqs.send_message
    calls: list[int] = []

    def flaky(**kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise boto3.client("sqs", region_name=REGION).exceptions.QueueDoesNotExist(
                {"Error": {"Code": "AWS.SimpleQueueService.NonExistentQueue"}}, "SendMessage"
            )
        return original(**kwargs)

    monkeypatch.setattr(sqs, "send_message", flaky)

    # When the ERP delivers, gets 503, and delivers again
    refused = post("products", product(PRODUCT_A, None))
    retried = post("products", product(PRODUCT_A, None))

    # Then the retry queues that same event, once
    assert refused["statusCode"] == 503
    assert retried["statusCode"] == 202, retried["body"]
    event_id = response_json(retried)["data"]["event_id"]
    assert event_item(event_id)["status"] == "QUEUED"
    [message] = receive(pipeline.resources.erp_lanes["standard"].url)
    assert event_id in message["Body"]
