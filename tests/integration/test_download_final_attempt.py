"""The download stage's final attempt on moto: retries running out end DEAD_LETTERED as SQS
moves the message; a final attempt that succeeds, fails or dies leaves the event's record
right (and a redriven dead letter completes it)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from local.http_stub import StubResponse
from tests.support.aws import MAX_RECEIVE_COUNT, REGION
from tests.support.crash import die_during
from tests.support.flows import accept_webhook, event_item, history, run_download
from tests.support.lambda_events import sqs_event
from tests.support.pipeline import Pipeline
from tests.support.pump import receive


def test_retries_exhausted_end_dead_lettered_and_sqs_moves_the_message(pipeline: Pipeline) -> None:
    # Given a marketplace that keeps failing for this order
    event_id = accept_webhook(pipeline.signing_secret, "QO-503503")
    pipeline.marketplace.script(
        "GET", "/orders/QO-503503", *[StubResponse(503) for _ in range(2 * MAX_RECEIVE_COUNT)]
    )
    queue = pipeline.resources.download

    # When SQS delivers it maxReceiveCount times
    for attempt in range(1, MAX_RECEIVE_COUNT + 1):
        delivered, failed = run_download(queue.url, queue.arn)
        assert (delivered, len(failed)) == (1, 1), f"attempt {attempt}"
        expected = "DEAD_LETTERED" if attempt == MAX_RECEIVE_COUNT else "RETRYING"
        assert event_item(event_id)["status"] == expected

    # Then the next receive finds it moved to the DLQ by the redrive policy
    assert receive(queue.url) == []
    [dead] = receive(queue.dlq_url)
    assert json.loads(dead["Body"])["event_id"] == event_id
    item = event_item(event_id)
    assert item["dead_letter"]["reason"].startswith(
        f"retries exhausted after {MAX_RECEIVE_COUNT} attempts"
    )
    # Every failed attempt is in the history; the final one's entry carries the real reason
    assert history(event_id) == ["RECEIVED", "QUEUED", "RETRYING", "RETRYING", "DEAD_LETTERED"]
    last = item["status_history"][-1]
    assert (last["stage"], last["detail"]) == ("download", item["dead_letter"]["reason"])
    assert "mark" not in last
    assert "next_retry_at" not in item


def _fail_twice(pipeline: Pipeline, order_id: str) -> str:
    """An accepted order whose first two attempts fail (2 HTTP tries each): attempt 3 is final."""
    event_id = accept_webhook(pipeline.signing_secret, order_id)
    pipeline.marketplace.script("GET", f"/orders/{order_id}", *[StubResponse(503)] * 4)
    queue = pipeline.resources.download
    for _ in range(2):
        delivered, failed = run_download(queue.url, queue.arn)
        assert (delivered, len(failed)) == (1, 1)
    return event_id


def test_a_final_attempt_that_succeeds_leaves_no_dead_letter_behind(pipeline: Pipeline) -> None:
    # Given an order whose first two downloads failed
    event_id = _fail_twice(pipeline, "QO-910001")
    queue = pipeline.resources.download

    # When the final attempt succeeds
    assert run_download(queue.url, queue.arn) == (1, [])

    # Then the history shows the two failures and the download, and nothing was dead-lettered
    assert history(event_id) == ["RECEIVED", "QUEUED", "RETRYING", "RETRYING", "DOWNLOADED"]
    item = event_item(event_id)
    assert "dead_letter" not in item
    assert "next_retry_at" not in item
    assert receive(queue.dlq_url) == []


def test_an_attempt_that_dies_on_the_final_receive_leaves_the_event_dead_lettered(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from download_worker import handler as download_module
    from shared.event_store import EventStore

    # Given an order on its final attempt, whose marketplace call never returns
    event_id = _fail_twice(pipeline, "QO-910002")
    queue = pipeline.resources.download

    [message] = receive(queue.url)
    assert message["Attributes"]["ApproximateReceiveCount"] == "3"

    # When the function dies holding it
    die_during(
        monkeypatch,
        download_module._deps().marketplace,
        "fetch_order",
        download_module.handler,
        sqs_event([message], queue.arn),
    )

    # Then the event already says where the message goes, and operators find it by status
    item = event_item(event_id)
    assert item["status"] == "DEAD_LETTERED"
    assert (item["dead_letter"]["stage"], item["dead_letter"]["attempts"]) == ("download", 3)
    assert "the final attempt (3 of 3)" in item["dead_letter"]["reason"]
    assert "did not finish" in item["dead_letter"]["reason"]
    assert history(event_id) == ["RECEIVED", "QUEUED", "RETRYING", "RETRYING", "DEAD_LETTERED"]
    listed, _ = EventStore(pipeline.resources.events_table).list_events(
        status="DEAD_LETTERED", pipeline=None, limit=50
    )
    assert event_id in [e["event_id"] for e in listed]
    # ... and SQS moves the message to the DLQ when its visibility runs out
    boto3.client("sqs", region_name=REGION).change_message_visibility(
        QueueUrl=queue.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    assert receive(queue.url) == []
    [dead] = receive(queue.dlq_url)

    # When an operator redrives it (a move task sends it again as a new message)
    boto3.client("sqs", region_name=REGION).send_message(
        QueueUrl=queue.url, MessageBody=dead["Body"], MessageAttributes=_attributes(dead)
    )
    assert run_download(queue.url, queue.arn) == (1, [])

    # Then it is downloaded; the dead letter stays on record
    assert history(event_id)[-2:] == ["DEAD_LETTERED", "DOWNLOADED"]
    assert event_item(event_id)["dead_letter"]["stage"] == "download"


def _attributes(message: dict[str, Any]) -> dict[str, Any]:
    return {
        name: {"DataType": value["DataType"], "StringValue": value["StringValue"]}
        for name, value in message.get("MessageAttributes", {}).items()
    }


def test_a_final_attempt_that_fails_turns_its_mark_into_the_dead_letter(
    pipeline: Pipeline,
) -> None:
    # Given an order on its final attempt, when the marketplace refuses it for good
    event_id = _fail_twice(pipeline, "QO-910003")
    pipeline.marketplace.script("GET", "/orders/QO-910003", StubResponse(404, {"error": "gone"}))
    queue = pipeline.resources.download
    assert run_download(queue.url, queue.arn) == (1, [])

    # Then one DEAD_LETTERED entry carries the real reason, not the mark's
    item = event_item(event_id)
    assert history(event_id) == ["RECEIVED", "QUEUED", "RETRYING", "RETRYING", "DEAD_LETTERED"]
    assert "404" in item["dead_letter"]["reason"]
    assert item["status_history"][-1]["detail"] == item["dead_letter"]["reason"]
    assert "mark" not in item["status_history"][-1]
    [dead] = receive(queue.dlq_url)
    assert dead["MessageAttributes"]["failed_stage"]["StringValue"] == "download"
