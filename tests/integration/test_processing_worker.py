"""Processing stage on moto: S3 (checksum) → anti-corruption transform → internal API (stub)."""

from __future__ import annotations

import json
from typing import Any

import boto3

from local.http_stub import StubResponse
from tests.support.aws import REGION
from tests.support.flows import accept_webhook, event_item, history, run_download, run_processing
from tests.support.lambda_events import FakeLambdaContext, sqs_event
from tests.support.orders import marketplace_order
from tests.support.pipeline import Pipeline
from tests.support.pump import receive


def downloaded(pipeline: Pipeline, order_id: str) -> str:
    event_id = accept_webhook(pipeline.signing_secret, order_id)
    queue = pipeline.resources.download
    assert run_download(queue.url, queue.arn) == (1, [])
    return event_id


def process_all(pipeline: Pipeline) -> tuple[int, list[str]]:
    queue = pipeline.resources.processing
    return run_processing(queue.url, queue.arn)


def test_processing_posts_the_internal_order_once_and_marks_processed(pipeline: Pipeline) -> None:
    event_id = downloaded(pipeline, "QO-100001")

    assert process_all(pipeline) == (1, [])

    [post] = pipeline.internal_api.requests_to("POST", "/orders")
    assert post.headers["Idempotency-Key"] == event_id
    order = post.json()
    assert order["external_order_id"] == "QO-100001"
    assert order["property_address"]["jurisdiction_code"] == "TX"
    assert order["total_fees"] == "165.50"
    assert order["source_event_id"] == event_id
    item = event_item(event_id)
    assert item["status"] == "PROCESSED"
    assert item["internal_order_id"] == f"INT-{event_id[:8]}"
    assert history(event_id) == ["RECEIVED", "QUEUED", "DOWNLOADED", "PROCESSED"]


def test_unknown_jurisdiction_is_dead_lettered_naming_the_value(pipeline: Pipeline) -> None:
    pipeline.marketplace.script(
        "GET",
        "/orders/QO-880088",
        StubResponse(200, marketplace_order("QO-880088", state="Atlantis")),
    )
    event_id = downloaded(pipeline, "QO-880088")

    assert process_all(pipeline) == (1, [])

    item = event_item(event_id)
    assert item["status"] == "DEAD_LETTERED"
    assert item["dead_letter"]["stage"] == "processing"
    assert "unknown jurisdiction 'Atlantis'" in item["dead_letter"]["reason"]
    [dead] = receive(pipeline.resources.processing.dlq_url)
    assert json.loads(dead["Body"])["event_id"] == event_id
    assert pipeline.internal_api.requests_to("POST", "/orders") == []


def test_checksum_mismatch_is_not_retried(pipeline: Pipeline) -> None:
    from processing_worker.handler import handler

    event_id = downloaded(pipeline, "QO-100004")
    queue = pipeline.resources.processing
    [message] = receive(queue.url)
    # Given the message names a checksum the stored object does not have
    body: dict[str, Any] = json.loads(message["Body"])
    message["Body"] = json.dumps({**body, "sha256": "0" * 64})

    response = handler(sqs_event([message], queue.arn), FakeLambdaContext())

    assert response == {"batchItemFailures": []}
    item = event_item(event_id)
    assert item["status"] == "DEAD_LETTERED"
    assert "ChecksumMismatchError" in item["dead_letter"]["reason"]
    assert len(receive(queue.dlq_url)) == 1


def test_internal_api_unavailable_is_retried_by_sqs(pipeline: Pipeline) -> None:
    event_id = downloaded(pipeline, "QO-100005")
    pipeline.internal_api.script("POST", "/orders", StubResponse(503), StubResponse(503))

    delivered, failed = process_all(pipeline)

    assert (delivered, len(failed)) == (1, 1)
    item = event_item(event_id)
    assert item["status"] == "RETRYING"
    assert item["status_history"][-1]["stage"] == "processing"
    assert "503" in item["last_error"]
    assert item["s3_key"]  # the raw order is kept: the retry only posts it again
    assert len(receive(pipeline.resources.processing.url)) == 1


def test_internal_api_rejecting_the_order_dead_letters_it(pipeline: Pipeline) -> None:
    event_id = downloaded(pipeline, "QO-100006")
    pipeline.internal_api.script("POST", "/orders", StubResponse(422, {"error": "bad order"}))

    assert process_all(pipeline) == (1, [])

    assert event_item(event_id)["status"] == "DEAD_LETTERED"
    assert "422" in event_item(event_id)["dead_letter"]["reason"]


def test_redelivery_of_a_processed_event_posts_nothing(pipeline: Pipeline) -> None:
    from processing_worker.handler import handler

    event_id = downloaded(pipeline, "QO-100007")
    queue = pipeline.resources.processing
    [message] = receive(queue.url)
    event = sqs_event([message], queue.arn)
    assert handler(event, FakeLambdaContext()) == {"batchItemFailures": []}

    assert handler(event, FakeLambdaContext()) == {"batchItemFailures": []}

    assert len(pipeline.internal_api.requests_to("POST", "/orders")) == 1
    assert history(event_id) == ["RECEIVED", "QUEUED", "DOWNLOADED", "PROCESSED"]


def test_a_malformed_message_is_dead_lettered(pipeline: Pipeline) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    queue = pipeline.resources.processing
    sqs.send_message(QueueUrl=queue.url, MessageBody='{"event_id": "x"}')

    assert process_all(pipeline) == (1, [])

    [dead] = receive(queue.dlq_url)
    assert (
        "malformed ProcessingRequested"
        in dead["MessageAttributes"]["failure_reason"]["StringValue"]
    )
