"""The stuck-event sweeper on moto: every pipeline's stuck events re-enqueued once, then counted."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from erp.entities import EntityType
from tests.support import tables
from tests.support.aws import REGION, STUCK_AFTER_MINUTES
from tests.support.erp import VALID_DATA, accept, body, entity, sync_one
from tests.support.flows import accept_webhook, drain_stage, event_item, run_download
from tests.support.lambda_events import FakeLambdaContext
from tests.support.output import emitted_metrics, json_lines
from tests.support.pipeline import Pipeline
from tests.support.pump import receive


def sweep() -> dict[str, Any]:
    from stuck_sweeper.handler import handler

    return dict(handler({"source": "aws.events", "detail-type": "Scheduled Event"},
                        FakeLambdaContext()))  # fmt: skip


def age(event_id: str, minutes: int) -> None:
    """As if the event had last changed `minutes` ago."""
    then = (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat(timespec="milliseconds")
    then = then.replace("+00:00", "Z")
    tables.events().update_item(
        Key={"event_id": event_id},
        UpdateExpression="SET received_at = :t, updated_at = :t",
        ExpressionAttributeValues={":t": then},
    )


def lose_messages(url: str) -> None:
    """The messages that should move events on never arrive."""
    sqs = boto3.client("sqs", region_name=REGION)
    while messages := receive(url):
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_stuck_events_of_every_pipeline_are_requeued_at_their_stage_and_complete(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    resources = pipeline.resources
    # An order whose download message was lost, one whose processing message was lost, and an
    # ERP event whose lane message was lost: all silent for longer than the threshold.
    downloaded_order = accept_webhook(pipeline.signing_secret, "QO-700002")
    assert run_download(resources.download.url, resources.download.arn) == (1, [])
    lose_messages(resources.processing.url)
    queued_order = accept_webhook(pipeline.signing_secret, "QO-700001")
    lose_messages(resources.download.url)
    erp_event = accept("customers", body(EntityType.CUSTOMER, VALID_DATA[EntityType.CUSTOMER]))
    lose_messages(resources.erp_lanes["standard"].url)
    # And a fresh event, which is only slow, not stuck.
    fresh = accept_webhook(pipeline.signing_secret, "QO-700003")
    lose_messages(resources.download.url)
    for event_id in (queued_order, downloaded_order, erp_event):
        age(event_id, STUCK_AFTER_MINUTES + 5)
    capsys.readouterr()

    summary = sweep()

    assert summary == {"stuck": 3, "requeued": 3, "still_stuck": 0, "not_requeueable": 0,
                       "failed": 0}  # fmt: skip
    metrics = emitted_metrics(capsys.readouterr().out)
    assert ("StuckEvents", {"service": "webhook-pipeline-tests"}) in metrics
    for event_id, status in (
        (queued_order, "QUEUED"),
        (downloaded_order, "DOWNLOADED"),
        (erp_event, "QUEUED"),
    ):
        assert event_item(event_id)["stuck_requeued"]["from_status"] == status
    assert "stuck_requeued" not in event_item(fresh)

    # Then each stage picks its event up again and every event completes.
    assert drain_stage("download", resources.download.url, resources.download.arn) == 1
    assert drain_stage("processing", resources.processing.url, resources.processing.arn) == 2
    lane = resources.erp_lanes["standard"]
    assert sync_one(lane.url, lane.arn) == {"batchItemFailures": []}
    for event_id in (queued_order, downloaded_order, erp_event):
        assert event_item(event_id)["status"] == "PROCESSED", event_id
    assert entity("customer", "E-1")["version"] == 1


def test_an_event_is_requeued_once_and_then_counted_as_still_stuck(
    pipeline: Pipeline, info_logs: io.StringIO
) -> None:
    event_id = accept("stock", body(EntityType.STOCK, VALID_DATA[EntityType.STOCK]))
    lane = pipeline.resources.erp_lanes["low"]
    lose_messages(lane.url)
    age(event_id, STUCK_AFTER_MINUTES + 1)
    assert sweep()["requeued"] == 1

    # The consumer is broken: the re-enqueued message is lost too, and time passes.
    lose_messages(lane.url)
    age(event_id, STUCK_AFTER_MINUTES + 1)
    info_logs.truncate(0)
    info_logs.seek(0)
    second = sweep()

    assert second == {"stuck": 1, "requeued": 0, "still_stuck": 1, "not_requeueable": 0,
                      "failed": 0}  # fmt: skip
    assert receive(lane.url) == []
    errors = [line for line in json_lines(info_logs.getvalue()) if line.get("level") == "ERROR"]
    assert [(e["message"], e["event_id"]) for e in errors] == [
        ("event still stuck after its re-enqueue", event_id)
    ]


def test_recent_events_and_events_waiting_for_a_scheduled_retry_are_left_alone(
    pipeline: Pipeline,
) -> None:
    recent = accept("invoices", body(EntityType.INVOICE, VALID_DATA[EntityType.INVOICE]))
    waiting = accept("bills", body(EntityType.BILL, VALID_DATA[EntityType.BILL]))
    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    table = tables.events()
    age(recent, STUCK_AFTER_MINUTES - 5)
    age(waiting, STUCK_AFTER_MINUTES + 60)
    table.update_item(
        Key={"event_id": waiting},
        UpdateExpression="SET #s = :retrying, next_retry_at = :later",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":retrying": "RETRYING", ":later": later},
    )

    assert sweep()["stuck"] == 0
    assert "stuck_requeued" not in event_item(recent)
    assert "stuck_requeued" not in event_item(waiting)


def test_a_failed_requeue_is_unmarked_and_retried_by_the_next_sweep(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared import aws_clients

    event_id = accept_webhook(pipeline.signing_secret, "QO-700009")
    lose_messages(pipeline.resources.download.url)
    age(event_id, STUCK_AFTER_MINUTES + 1)
    sqs = aws_clients.sqs()
    with monkeypatch.context() as patch:

        def refuse(**_: Any) -> Any:
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "x"}}, "Send")

        patch.setattr(sqs, "send_message", refuse)
        first = sweep()
        assert first["failed"] == 1, first
    assert "stuck_requeued" not in event_item(event_id)

    assert sweep()["requeued"] == 1
    assert len(receive(pipeline.resources.download.url)) == 1


def test_an_event_that_cannot_be_rebuilt_is_counted_not_requeued(pipeline: Pipeline) -> None:
    event_id = accept("prices", body(EntityType.PRICE, VALID_DATA[EntityType.PRICE]))
    lose_messages(pipeline.resources.erp_lanes["low"].url)
    tables.events().update_item(
        Key={"event_id": event_id},
        UpdateExpression="REMOVE #d",
        ExpressionAttributeNames={"#d": "data"},
    )
    age(event_id, STUCK_AFTER_MINUTES + 1)

    assert sweep()["not_requeueable"] == 1
    assert event_item(event_id)["stuck_requeued"]["from_status"] == "QUEUED"
    # Still stuck at the next sweep: counted, so the alarm keeps it in front of operators.
    age(event_id, STUCK_AFTER_MINUTES + 1)
    assert sweep() == {"stuck": 1, "requeued": 0, "still_stuck": 1, "not_requeueable": 0,
                       "failed": 0}  # fmt: skip


def test_a_retry_is_stuck_only_once_it_was_due_longer_ago_than_the_threshold(
    pipeline: Pipeline,
) -> None:
    # Given two events that last changed hours ago (their retry schedule waited that long):
    # one whose retry came due a minute ago, one whose retry came due past the threshold
    table = tables.events()
    just_due = accept("bills", body(EntityType.BILL, VALID_DATA[EntityType.BILL]))
    overdue = accept("invoices", body(EntityType.INVOICE, VALID_DATA[EntityType.INVOICE]))
    for event_id, due_minutes_ago in ((just_due, 1), (overdue, STUCK_AFTER_MINUTES + 1)):
        age(event_id, 5 * 60)
        due = datetime.now(UTC) - timedelta(minutes=due_minutes_ago)
        table.update_item(
            Key={"event_id": event_id},
            UpdateExpression="SET #s = :retrying, next_retry_at = :due",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":retrying": "RETRYING",
                ":due": due.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            },
        )

    # When the sweeper runs
    report = sweep()

    # Then only the one whose retry should have happened long ago is re-enqueued
    assert (report["stuck"], report["requeued"]) == (1, 1)
    assert "stuck_requeued" not in event_item(just_due)
    assert event_item(overdue)["stuck_requeued"]["from_status"] == "RETRYING"
