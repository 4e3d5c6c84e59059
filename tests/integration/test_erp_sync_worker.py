"""The ERP sync worker on moto: ordering-safe upserts, tombstones, backoff retries, dead letters."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from erp.entities import EntityType
from tests.conftest import Pipeline
from tests.integration.test_erp_ingest import post
from tests.support.aws import REGION
from tests.support.crash import die_during
from tests.support.erp import VALID_DATA, body
from tests.support.flows import event_item, history
from tests.support.lambda_events import FakeLambdaContext, response_json, sqs_event
from tests.support.output import emitted_metrics
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
    assert (
        event_item(event_id)["status_history"][2]["detail"] == "attempt 1 of 3 from the high lane"
    )
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
    _fail_entity_writes(monkeypatch, "ProvisionedThroughputExceededException", 2)
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


def test_the_sync_emits_the_erp_metrics(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    high, low = pipeline.resources.erp_lanes["high"], pipeline.resources.erp_lanes["low"]
    invoice = body(EntityType.INVOICE, VALID_DATA[EntityType.INVOICE])
    accept("invoices", invoice)
    post("invoices", invoice)  # duplicate
    assert post("invoices", {**invoice, "data": {}})["statusCode"] == 400
    sync_one(high.url, high.arn)  # synced
    changed = {**VALID_DATA[EntityType.INVOICE], "total": 1}
    older = body(EntityType.INVOICE, changed, occurred_at="2026-11-01T00:00:00Z")
    accept("invoices", older)
    sync_one(high.url, high.arn)  # stale
    with monkeypatch.context() as patch:
        _fail_entity_writes(patch, "ProvisionedThroughputExceededException", 1)
        accept("stock", body(EntityType.STOCK, VALID_DATA[EntityType.STOCK]))
        sync_one(low.url, low.arn)  # retried
        sync_one(low.url, low.arn)  # synced
    with monkeypatch.context() as patch:
        _fail_entity_writes(patch, "ValidationException", 1)
        accept("prices", body(EntityType.PRICE, VALID_DATA[EntityType.PRICE]))
        sync_one(low.url, low.arn)  # dead-lettered

    metrics = emitted_metrics(capsys.readouterr().out)

    def named(name: str) -> list[dict[str, str]]:
        return [dims for metric, dims in metrics if metric == name]

    assert [d["entity"] for d in named("ErpEventAccepted")] == [
        "invoice", "invoice", "stock", "price"
    ]  # fmt: skip
    assert [d["reason"] for d in named("ErpEventRejected")] == ["validation"]
    assert len(named("ErpEventDuplicate")) == 1
    assert sorted(d["entity"] for d in named("ErpEventSynced")) == ["invoice", "stock"]
    assert len(named("ErpStaleIgnored")) == 1
    assert len(named("ErpEventRetried")) == 1
    assert len(named("ErpEventDeadLettered")) == 1


def test_a_sync_that_succeeds_on_its_final_attempt_has_a_clean_history(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the entity store refuses the first two attempts
    lane = pipeline.resources.erp_lanes["standard"]
    _fail_entity_writes(monkeypatch, "ProvisionedThroughputExceededException", 2)
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
    _fail_entity_writes(monkeypatch, "ProvisionedThroughputExceededException", 2)
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
