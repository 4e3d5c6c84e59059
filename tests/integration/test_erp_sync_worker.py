"""The ERP sync worker on moto: ordering-safe upserts, tombstones, backoff retries, dead letters."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from erp.entities import EntityType
from tests.conftest import Pipeline
from tests.integration.test_erp_ingest import post
from tests.support.aws import REGION
from tests.support.erp import VALID_DATA, body
from tests.support.flows import event_item, history
from tests.support.lambda_events import FakeLambdaContext, response_json, sqs_event
from tests.support.pump import receive


def sync_one(lane_url: str, lane_arn: str) -> dict[str, Any]:
    """Deliver the next message of a lane to the worker, alone, as Lambda would."""
    from erp_sync_worker.handler import handler

    [message] = receive(lane_url, max_messages=1)
    response = handler(sqs_event([message], lane_arn), FakeLambdaContext())
    if not response["batchItemFailures"]:
        boto3.client("sqs", region_name=REGION).delete_message(
            QueueUrl=lane_url, ReceiptHandle=message["ReceiptHandle"]
        )
    else:  # as if the backoff delay had passed
        boto3.client("sqs", region_name=REGION).change_message_visibility(
            QueueUrl=lane_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    return dict(response)


def entity(entity_type: str, entity_id: str) -> dict[str, Any]:
    table = boto3.resource("dynamodb", region_name=REGION).Table("entities")
    return table.get_item(Key={"entity_type": entity_type, "entity_id": entity_id}).get("Item", {})


def accept(route: str, document: dict[str, Any]) -> str:
    response = post(route, document)
    assert response["statusCode"] == 202, response["body"]
    return str(response_json(response)["data"]["event_id"])


def test_an_event_is_synced_with_a_version_and_its_history(pipeline: Pipeline) -> None:
    lane = pipeline.resources.erp_lanes["high"]
    event_id = accept("invoices", body(EntityType.INVOICE, VALID_DATA[EntityType.INVOICE]))

    assert sync_one(lane.url, lane.arn) == {"batchItemFailures": []}

    stored = entity("invoice", "E-1")
    assert stored["data"]["invoice_id"] == "INV-1"
    assert stored["version"] == 1
    assert stored["source_timestamp"] == "2026-11-20T10:00:00.000000Z"
    assert stored["last_event_id"] == event_id
    assert event_item(event_id)["outcome"] == "synced"
    assert event_item(event_id)["synced_from_lane"] == "high"
    assert event_item(event_id)["status_history"][2]["detail"] == "attempt 1 from the high lane"
    assert history(event_id) == ["RECEIVED", "QUEUED", "PROCESSING", "PROCESSED"]


def test_an_older_update_arriving_later_is_ignored(pipeline: Pipeline) -> None:
    lane = pipeline.resources.erp_lanes["standard"]
    newer = accept(
        "products",
        body(EntityType.PRODUCT, {**VALID_DATA[EntityType.PRODUCT], "name": "New name"},
             occurred_at="2026-11-20T12:00:00Z"),
    )  # fmt: skip
    older = accept(
        "products",
        body(EntityType.PRODUCT, {**VALID_DATA[EntityType.PRODUCT], "name": "Old name"},
             occurred_at="2026-11-20T11:00:00Z"),
    )  # fmt: skip

    sync_one(lane.url, lane.arn)
    sync_one(lane.url, lane.arn)

    assert entity("product", "E-1")["data"]["name"] == "New name"
    assert entity("product", "E-1")["version"] == 1
    assert event_item(newer)["outcome"] == "synced"
    assert event_item(older)["status"] == "PROCESSED"
    assert event_item(older)["outcome"] == "stale_ignored"


def test_a_delete_leaves_a_tombstone(pipeline: Pipeline) -> None:
    lane = pipeline.resources.erp_lanes["low"]
    accept(
        "stock",
        body(EntityType.STOCK, VALID_DATA[EntityType.STOCK], occurred_at="2026-11-20T10:00:00Z"),
    )
    accept(
        "stock",
        body(EntityType.STOCK, VALID_DATA[EntityType.STOCK], event_type="delete",
             occurred_at="2026-11-20T10:05:00Z"),
    )  # fmt: skip

    sync_one(lane.url, lane.arn)
    sync_one(lane.url, lane.arn)

    tombstone = entity("stock", "E-1")
    assert tombstone["deleted"] is True
    assert "data" not in tombstone
    assert tombstone["version"] == 2


def _fail_entity_writes(monkeypatch: pytest.MonkeyPatch, code: str, times: int) -> list[str]:
    from shared import aws_clients

    client = aws_clients.dynamodb().meta.client
    original = client.update_item
    failures: list[str] = []

    def flaky(**kwargs: Any) -> Any:
        if kwargs.get("TableName") == "entities" and len(failures) < times:
            failures.append(code)
            raise ClientError({"Error": {"Code": code, "Message": "injected"}}, "UpdateItem")
        return original(**kwargs)

    monkeypatch.setattr(client, "update_item", flaky)
    return failures


def test_a_transient_failure_is_retried_after_backoff_then_synced(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    lane = pipeline.resources.erp_lanes["standard"]
    failures = _fail_entity_writes(monkeypatch, "ProvisionedThroughputExceededException", 1)
    event_id = accept("customers", body(EntityType.CUSTOMER, VALID_DATA[EntityType.CUSTOMER]))

    first = sync_one(lane.url, lane.arn)
    retrying = event_item(event_id)
    second = sync_one(lane.url, lane.arn)

    assert failures == ["ProvisionedThroughputExceededException"]
    assert len(first["batchItemFailures"]) == 1
    assert retrying["status"] == "RETRYING"
    assert retrying["attempts"] == 1
    assert "next retry at" in retrying["status_history"][-1]["detail"]
    assert second == {"batchItemFailures": []}
    assert history(event_id) == [
        "RECEIVED", "QUEUED", "PROCESSING", "RETRYING", "PROCESSING", "PROCESSED"
    ]  # fmt: skip
    assert entity("customer", "E-1")["version"] == 1


def test_a_permanent_failure_is_dead_lettered_redriven_and_synced_exactly_once(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    lane = pipeline.resources.erp_lanes["low"]
    sqs = boto3.client("sqs", region_name=REGION)
    with monkeypatch.context() as patch:
        _fail_entity_writes(patch, "ValidationException", 1)
        event_id = accept("prices", body(EntityType.PRICE, VALID_DATA[EntityType.PRICE]))
        assert sync_one(lane.url, lane.arn) == {"batchItemFailures": []}  # moved, not retried

    item = event_item(event_id)
    assert item["status"] == "DEAD_LETTERED"
    assert "ValidationException" in item["dead_letter"]["reason"]
    assert receive(lane.url) == []

    # When the fault is cleared and the lane's DLQ is redriven (SQS native move task)
    sqs.start_message_move_task(SourceArn=lane.dlq_arn, DestinationArn=lane.arn)
    assert sync_one(lane.url, lane.arn) == {"batchItemFailures": []}

    # Then the entity is written once, and a redelivery changes nothing
    assert event_item(event_id)["status"] == "PROCESSED"
    assert entity("price", "E-1")["version"] == 1
    assert json.loads(json.dumps(entity("price", "E-1")["data"]["rate"], default=str)) == "9.99"
