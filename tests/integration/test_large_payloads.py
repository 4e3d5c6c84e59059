"""Claim checks on moto: ERP data too large for an item or a message goes to the payload bucket
once; the inbox record, the queue message, the entity store and a replay carry its reference."""

from __future__ import annotations

import json
from typing import Any

import boto3

from erp.inbox import canonical_json, content_hash
from tests.support.aws import REGION
from tests.support.erp import entity, post, sync_one
from tests.support.flows import event_item
from tests.support.lambda_events import response_json
from tests.support.pipeline import Pipeline
from tests.support.pump import receive

MB = 1024 * 1024


def big_product(megabytes: float) -> dict[str, Any]:
    """A product whose data is about `megabytes` of JSON: a long description field."""
    return {
        "event_type": "update",
        "entity_type": "product",
        "entity_id": "P-big",
        "data": {"item_id": "I-big", "name": "Big", "description": "x" * int(megabytes * MB)},
        "occurred_at": "2026-11-20T10:00:00Z",
    }


def s3_object(pipeline: Pipeline, key: str) -> bytes:
    s3 = boto3.client("s3", region_name=REGION)
    return bytes(s3.get_object(Bucket=pipeline.resources.bucket, Key=key)["Body"].read())


def test_a_5_mb_erp_webhook_is_kept_in_the_bucket_and_synced_by_reference(
    pipeline: Pipeline,
) -> None:
    # Given a 5 MB product update
    document = big_product(5)

    # When it is accepted
    response = post("products", document)
    assert response["statusCode"] == 202, response["body"][:300]
    event_id = response_json(response)["data"]["event_id"]

    # Then the data is in the bucket once, under its content hash, and the inbox record and the
    # queue message refer to it
    key = f"zoho/data/{content_hash(document['data'])}.json"
    assert s3_object(pipeline, key) == canonical_json(document["data"]).encode()
    item = event_item(event_id)
    assert "data" not in item
    assert item["data_ref"]["key"] == key
    assert int(item["data_ref"]["size"]) > 5 * MB
    lane = pipeline.resources.erp_lanes["standard"]
    [message] = receive(lane.url)
    assert len(message["Body"]) < 4096
    assert json.loads(message["Body"])["data_ref"]["key"] == key
    boto3.client("sqs", region_name=REGION).change_message_visibility(
        QueueUrl=lane.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )

    # When the worker syncs it, Then the entity refers to the same object
    assert sync_one(lane.url, lane.arn) == {"batchItemFailures": []}
    stored = entity("product", "P-big")
    assert "data" not in stored
    assert stored["data_ref"]["key"] == key
    assert event_item(event_id)["status"] == "PROCESSED"


def test_small_data_stays_inline(pipeline: Pipeline) -> None:
    document = big_product(0.001)
    event_id = response_json(post("products", document))["data"]["event_id"]
    assert event_item(event_id)["data"]["description"] == document["data"]["description"]
    assert "data_ref" not in event_item(event_id)


def test_a_large_event_whose_object_is_gone_is_dead_lettered_then_redriven_and_replayed(
    pipeline: Pipeline,
) -> None:
    from ops_api import operations

    document = big_product(1.5)
    event_id = response_json(post("products", document))["data"]["event_id"]
    lane = pipeline.resources.erp_lanes["standard"]
    key = event_item(event_id)["data_ref"]["key"]
    s3 = boto3.client("s3", region_name=REGION)
    body = s3_object(pipeline, key)

    # Given its object was deleted by hand: the sync cannot succeed, it is dead-lettered at once
    s3.delete_object(Bucket=pipeline.resources.bucket, Key=key)
    assert sync_one(lane.url, lane.arn) == {"batchItemFailures": []}
    item = event_item(event_id)
    assert item["status"] == "DEAD_LETTERED"
    assert "does not exist" in item["dead_letter"]["reason"]

    # When the object is restored and the lane's DLQ redriven, Then it is synced
    s3.put_object(Bucket=pipeline.resources.bucket, Key=key, Body=body)
    boto3.client("sqs", region_name=REGION).start_message_move_task(
        SourceArn=lane.dlq_arn, DestinationArn=lane.arn
    )
    assert sync_one(lane.url, lane.arn) == {"batchItemFailures": []}
    assert event_item(event_id)["status"] == "PROCESSED"
    assert entity("product", "P-big")["data_ref"]["key"] == key

    # And a replay rebuilds the message with the same reference, not the data
    from shared.event_store import EventStore

    settings = operations.OpsSettings.model_validate({})
    operations.replay(settings, EventStore(pipeline.resources.events_table), event_id, force=True)
    [message] = receive(lane.url)
    assert json.loads(message["Body"])["data_ref"]["key"] == key
    assert json.loads(message["Body"])["data"] == {}
