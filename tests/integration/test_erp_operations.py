"""ERP events through the generic operator endpoints on moto: stats, redrive of a lane, replay."""

from __future__ import annotations

import boto3
import pytest

from erp.entities import EntityType
from tests.support.aws import REGION
from tests.support.erp import VALID_DATA, accept, body, entity, fail_entity_writes, sync_one
from tests.support.flows import event_item
from tests.support.lambda_events import response_json
from tests.support.ops import ops
from tests.support.pipeline import Pipeline
from tests.support.pump import receive


def test_stats_count_erp_events_by_entity_and_by_priority(pipeline: Pipeline) -> None:
    for entity_type, route in (
        (EntityType.INVOICE, "invoices"),
        (EntityType.PRODUCT, "products"),
        (EntityType.STOCK, "stock"),
        (EntityType.PRICE, "prices"),
    ):
        accept(route, body(entity_type, VALID_DATA[entity_type]))
    high = pipeline.resources.erp_lanes["high"]
    sync_one(high.url, high.arn)

    stats = response_json(ops("GET", "/stats", "/stats"))["data"]

    assert stats["events_by_status"]["QUEUED"] == {"erp_entity_sync": 3}
    assert stats["events_by_status"]["PROCESSED"] == {"erp_entity_sync": 1}
    assert stats["events_by_entity"] == {
        "invoice": {"PROCESSED": 1},
        "product": {"QUEUED": 1},
        "stock": {"QUEUED": 1},
        "price": {"QUEUED": 1},
    }
    assert stats["events_by_priority"] == {"2": {"PROCESSED": 1}, "5": {"QUEUED": 1},
                                           "8": {"QUEUED": 2}}  # fmt: skip
    assert stats["queues"]["erp-low"]["queue"]["visible"] == 2
    assert stats["queues"]["erp-standard"]["queue"]["visible"] == 1


@pytest.mark.parametrize("lane", ["high", "standard", "low"])
def test_each_lanes_dlq_is_redriven_by_its_stage_name(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, lane: str
) -> None:
    route, entity_type = {
        "high": ("invoices", EntityType.INVOICE),
        "standard": ("bills", EntityType.BILL),
        "low": ("credit-notes", EntityType.CREDIT_NOTE),
    }[lane]
    pair = pipeline.resources.erp_lanes[lane]
    with monkeypatch.context() as patch:
        fail_entity_writes(patch, "ValidationException", 1)
        event_id = accept(route, body(entity_type, VALID_DATA[entity_type]))
        sync_one(pair.url, pair.arn)
    assert event_item(event_id)["status"] == "DEAD_LETTERED"

    stage = f"erp-{lane}"
    started = ops("POST", f"/dlq/{stage}/redrive", "/dlq/{queue}/redrive", queue=stage)

    assert started["statusCode"] == 202, started["body"]
    assert response_json(started)["data"]["destination"] == pair.arn
    assert sync_one(pair.url, pair.arn) == {"batchItemFailures": []}
    assert event_item(event_id)["status"] == "PROCESSED"
    assert entity(entity_type.value, "E-1")["version"] == 1


def test_a_dead_lettered_erp_event_is_replayed_into_its_lane_and_synced_once(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    lane = pipeline.resources.erp_lanes["standard"]
    data = {**VALID_DATA[EntityType.PRODUCT], "price": 12.75, "stock": 3}
    with monkeypatch.context() as patch:
        fail_entity_writes(patch, "ValidationException", 1)
        event_id = accept("products", body(EntityType.PRODUCT, data))
        sync_one(lane.url, lane.arn)
    # The DLQ message is gone (e.g. expired): only the inbox record is left.
    boto3.client("sqs", region_name=REGION).purge_queue(QueueUrl=lane.dlq_url)

    replayed = ops(
        "POST", f"/events/{event_id}/replay", "/events/{event_id}/replay", event_id=event_id
    )

    assert replayed["statusCode"] == 202, replayed["body"]
    assert response_json(replayed)["data"]["stage"] == "erp-standard"
    assert sync_one(lane.url, lane.arn) == {"batchItemFailures": []}
    stored = entity("product", "E-1")
    # Numbers survive the round trip through DynamoDB as numbers, not strings.
    assert (stored["data"]["price"], stored["data"]["stock"]) == (
        pytest.approx(12.75),
        3,
    )
    assert stored["version"] == 1
    assert event_item(event_id)["last_replay"]["stage"] == "erp-standard"
    assert receive(lane.url) == []
