"""Download stage on moto: marketplace API (local stub) → S3 with checksum → processing queue."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import boto3
import pytest

from local.http_stub import StubResponse
from tests.conftest import MARKETPLACE_TOKEN, Pipeline
from tests.support.aws import MAX_RECEIVE_COUNT, REGION
from tests.support.crash import die_during
from tests.support.flows import accept_webhook, event_item, history, run_download
from tests.support.lambda_events import FakeLambdaContext, sqs_event
from tests.support.pump import receive


def test_download_stores_the_raw_order_with_its_checksum_and_queues_processing(
    pipeline: Pipeline,
) -> None:
    # Given an accepted webhook for QO-100001
    event_id = accept_webhook(pipeline.signing_secret, "QO-100001")
    queue = pipeline.resources.download

    # When the download worker runs
    delivered, failed = run_download(queue.url, queue.arn)

    # Then the order is in S3 under its key, hashed, and the processing stage is queued
    assert (delivered, failed) == (1, [])
    key = f"qualia/orders/QO-100001/{event_id}.json"
    stored = boto3.client("s3", region_name=REGION).get_object(Bucket="payloads", Key=key)
    body = stored["Body"].read()
    assert json.loads(body)["id"] == "QO-100001"
    assert stored["Metadata"]["sha256"] == hashlib.sha256(body).hexdigest()
    item = event_item(event_id)
    assert item["status"] == "DOWNLOADED"
    assert item["sha256"] == hashlib.sha256(body).hexdigest()
    assert history(event_id) == ["RECEIVED", "QUEUED", "DOWNLOADED"]
    [message] = receive(pipeline.resources.processing.url)
    next_stage = json.loads(message["Body"])
    assert next_stage["s3_key"] == key
    assert next_stage["sha256"] == hashlib.sha256(body).hexdigest()
    assert next_stage["s3_version_id"] == stored["VersionId"]
    assert message["MessageAttributes"]["event_id"]["StringValue"] == event_id
    [get] = pipeline.marketplace.requests_to("GET", "/orders/QO-100001")
    assert get.headers["Authorization"] == f"Bearer {MARKETPLACE_TOKEN}"


def test_one_retryable_failure_in_a_batch_fails_only_that_record(pipeline: Pipeline) -> None:
    # Given three events, and a marketplace answering 503 for one of them (twice: no retry helps)
    ids = {o: accept_webhook(pipeline.signing_secret, o) for o in ("QO-1001", "QO-1002", "QO-1003")}
    unavailable = StubResponse(503, {"error": "maintenance"})
    pipeline.marketplace.script("GET", "/orders/QO-1002", unavailable, unavailable)
    queue = pipeline.resources.download

    # When the batch is processed
    delivered, failed = run_download(queue.url, queue.arn)

    # Then only that record is reported failed and waits for its retry; the others are downloaded
    assert delivered == 3
    assert len(failed) == 1
    retrying = event_item(ids["QO-1002"])
    assert retrying["status"] == "RETRYING"
    entry = retrying["status_history"][-1]
    assert (entry["status"], entry["stage"]) == ("RETRYING", "download")
    assert entry["detail"].startswith("attempt 1 of 3 failed: RetryableError: GET ")
    assert entry["detail"].endswith(f"; next attempt at {retrying['next_retry_at']}")
    assert event_item(ids["QO-1001"])["status"] == "DOWNLOADED"
    assert event_item(ids["QO-1003"])["status"] == "DOWNLOADED"
    [left] = receive(queue.url)
    assert json.loads(left["Body"])["order_id"] == "QO-1002"


def test_non_retryable_failure_goes_to_the_dlq_and_is_dead_lettered(pipeline: Pipeline) -> None:
    # Given the marketplace does not know the order
    event_id = accept_webhook(pipeline.signing_secret, "QO-404404")
    pipeline.marketplace.script("GET", "/orders/QO-404404", StubResponse(404, {"error": "gone"}))
    queue = pipeline.resources.download

    # When the worker runs
    delivered, failed = run_download(queue.url, queue.arn)

    # Then it is not retried: it is in the DLQ with its reason, and the event says so
    assert (delivered, failed) == (1, [])
    assert receive(queue.url) == []
    [dead] = receive(queue.dlq_url)
    assert dead["MessageAttributes"]["failed_stage"]["StringValue"] == "download"
    assert "404" in dead["MessageAttributes"]["failure_reason"]["StringValue"]
    item = event_item(event_id)
    assert item["status"] == "DEAD_LETTERED"
    assert item["dead_letter"]["stage"] == "download"
    assert "404" in item["dead_letter"]["reason"]
    assert len(pipeline.marketplace.requests_to("GET", "/orders/QO-404404")) == 1


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


def test_redelivery_of_a_downloaded_event_is_a_no_op(pipeline: Pipeline) -> None:
    from download_worker.handler import handler

    event_id = accept_webhook(pipeline.signing_secret, "QO-777777")
    queue = pipeline.resources.download
    [message] = receive(queue.url)
    event = sqs_event([message], queue.arn)
    assert handler(event, FakeLambdaContext()) == {"batchItemFailures": []}

    # When SQS delivers the same message again
    assert handler(event, FakeLambdaContext()) == {"batchItemFailures": []}

    # Then nothing is fetched or queued twice
    assert len(pipeline.marketplace.requests_to("GET", "/orders/QO-777777")) == 1
    assert len(receive(pipeline.resources.processing.url)) == 1
    assert history(event_id) == ["RECEIVED", "QUEUED", "DOWNLOADED"]


def test_a_rotated_marketplace_token_is_refetched_after_a_401(pipeline: Pipeline) -> None:
    # Given the worker cached the token, and then the token was rotated
    accept_webhook(pipeline.signing_secret, "QO-100002")
    accept_webhook(pipeline.signing_secret, "QO-100003")
    queue = pipeline.resources.download
    from download_worker.handler import handler

    [first] = receive(queue.url, max_messages=1)
    handler(sqs_event([first], queue.arn), FakeLambdaContext())
    boto3.client("secretsmanager", region_name=REGION).put_secret_value(
        SecretId="marketplace-token", SecretString="rotated-token"
    )
    pipeline.marketplace.script(
        "GET", r"/orders/QO-\d+", StubResponse(401, {"error": "token revoked"})
    )
    pipeline.marketplace.route(
        "GET", r"/orders/QO-\d+", lambda r: StubResponse(200, {"id": r.path.rsplit("/", 1)[-1]})
    )

    # When the next message is downloaded
    delivered, failed = run_download(queue.url, queue.arn)

    # Then the worker refetched the secret and succeeded with the new token
    assert (delivered, failed) == (1, [])
    last = pipeline.marketplace.requests[-1]
    assert last.headers["Authorization"] == "Bearer rotated-token"


def test_a_retryable_failure_sets_the_backoff_visibility(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from download_worker.handler import handler
    from shared import aws_clients

    # Given the marketplace is down for this order
    accept_webhook(pipeline.signing_secret, "QO-321321")
    pipeline.marketplace.script("GET", "/orders/QO-321321", StubResponse(503), StubResponse(503))
    changes: list[int] = []
    sqs = aws_clients.sqs()
    original = sqs.change_message_visibility

    def spy(**kwargs: Any) -> Any:
        changes.append(kwargs["VisibilityTimeout"])
        return original(**kwargs)

    monkeypatch.setattr(sqs, "change_message_visibility", spy)
    queue = pipeline.resources.download
    [message] = receive(queue.url)

    # When the first attempt fails
    response = handler(sqs_event([message], queue.arn), FakeLambdaContext())

    # Then it is reported failed and hidden for base * 2**0 = 1 s plus up to 20 % jitter
    assert len(response["batchItemFailures"]) == 1
    assert changes in ([1], [2])


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
    listed, _ = EventStore("events").list_events(status="DEAD_LETTERED", pipeline=None, limit=50)
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
