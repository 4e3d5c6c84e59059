"""The ERP sync worker's failures on moto: transient ones retried after the scheduled backoff,
permanent ones dead-lettered (and synced once when redriven), the final attempt succeeding or
dying."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import boto3
import pytest

from erp.entities import EntityType
from tests.support.aws import REGION
from tests.support.crash import die_during
from tests.support.erp import VALID_DATA, accept, body, entity, fail_entity_writes, sync_one
from tests.support.flows import event_item, history
from tests.support.lambda_events import sqs_event
from tests.support.pipeline import Pipeline
from tests.support.pump import receive


def test_a_transient_failure_is_retried_after_backoff_then_synced(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    lane = pipeline.resources.erp_lanes["standard"]
    failures = fail_entity_writes(monkeypatch, "ProvisionedThroughputExceededException", 1)
    event_id = accept("customers", body(EntityType.CUSTOMER, VALID_DATA[EntityType.CUSTOMER]))

    first = sync_one(lane.url, lane.arn)
    retrying = event_item(event_id)
    second = sync_one(lane.url, lane.arn)

    assert failures == ["ProvisionedThroughputExceededException"]
    assert len(first["batchItemFailures"]) == 1
    assert retrying["status"] == "RETRYING"
    assert retrying["attempts"] == 1
    assert "next attempt at" in retrying["status_history"][-1]["detail"]
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
        fail_entity_writes(patch, "ValidationException", 1)
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


def test_each_retry_waits_the_scheduled_backoff_before_the_event_is_synced(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared import aws_clients

    lane = pipeline.resources.erp_lanes["high"]
    sqs = aws_clients.sqs()
    original = sqs.change_message_visibility
    scheduled: list[int] = []

    def spy(**kwargs: Any) -> Any:
        scheduled.append(kwargs["VisibilityTimeout"])
        return original(**kwargs)

    monkeypatch.setattr(sqs, "change_message_visibility", spy)
    fail_entity_writes(monkeypatch, "ProvisionedThroughputExceededException", 2)
    event_id = accept("invoices", body(EntityType.INVOICE, VALID_DATA[EntityType.INVOICE]))

    sync_one(lane.url, lane.arn)
    first_retry = event_item(event_id)
    sync_one(lane.url, lane.arn)
    second_retry = event_item(event_id)
    assert sync_one(lane.url, lane.arn) == {"batchItemFailures": []}

    # min(1s x 2^(attempt-1), 60s) plus up to 20 % jitter, rounded up: 1-2s, then 2-3s.
    assert len(scheduled) == 2
    assert 1 <= scheduled[0] <= 2
    assert 2 <= scheduled[1] <= 3
    for retry, attempt, delay in ((first_retry, 1, scheduled[0]), (second_retry, 2, scheduled[1])):
        assert (retry["status"], retry["attempts"]) == ("RETRYING", attempt)
        planned = datetime.fromisoformat(retry["next_retry_at"]) - datetime.fromisoformat(
            retry["updated_at"]
        )
        assert abs(planned.total_seconds() - delay) < 1
    assert event_item(event_id)["status"] == "PROCESSED"


def test_a_sync_that_succeeds_on_its_final_attempt_has_a_clean_history(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the entity store refuses the first two attempts
    lane = pipeline.resources.erp_lanes["standard"]
    fail_entity_writes(monkeypatch, "ProvisionedThroughputExceededException", 2)
    event_id = accept("customers", body(EntityType.CUSTOMER, VALID_DATA[EntityType.CUSTOMER]))

    # When the third (final) attempt succeeds
    outcomes = [sync_one(lane.url, lane.arn) for _ in range(3)]

    # Then the final attempt's DEAD_LETTERED mark is gone and the attempts read as they happened
    assert [len(o["batchItemFailures"]) for o in outcomes] == [1, 1, 0]
    assert history(event_id) == [
        "RECEIVED", "QUEUED", "PROCESSING", "RETRYING", "PROCESSING", "RETRYING", "PROCESSED"
    ]  # fmt: skip
    item = event_item(event_id)
    assert "dead_letter" not in item
    assert item["outcome"] == "synced"


def test_a_sync_that_dies_on_its_final_attempt_leaves_the_event_dead_lettered(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from erp_sync_worker import handler as sync_module

    lane = pipeline.resources.erp_lanes["high"]
    fail_entity_writes(monkeypatch, "ProvisionedThroughputExceededException", 2)
    event_id = accept("invoices", body(EntityType.INVOICE, VALID_DATA[EntityType.INVOICE]))
    for _ in range(2):
        assert len(sync_one(lane.url, lane.arn)["batchItemFailures"]) == 1

    [message] = receive(lane.url)
    die_during(
        monkeypatch,
        sync_module._deps().entities,
        "apply",
        sync_module.handler,
        sqs_event([message], lane.arn),
    )

    item = event_item(event_id)
    assert item["status"] == "DEAD_LETTERED"
    assert (item["dead_letter"]["stage"], item["dead_letter"]["attempts"]) == ("sync", 3)
    assert item["dead_letter"]["attempt_ends_by"] > item["dead_letter"]["at"]
    assert history(event_id)[-1] == "DEAD_LETTERED"  # no PROCESSING entry overwrote the mark
