"""Download stage on moto: marketplace API (local stub) → S3 with checksum → processing queue; a
failing record of a batch retried alone after its backoff, a refused one dead-lettered, a
redelivery a no-op, a rotated token fetched again."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import boto3
import pytest

from local.http_stub import StubResponse
from tests.support.aws import REGION
from tests.support.flows import accept_webhook, event_item, history, run_download
from tests.support.lambda_events import FakeLambdaContext, sqs_event
from tests.support.pipeline import MARKETPLACE_TOKEN, Pipeline
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
    stored = boto3.client("s3", region_name=REGION).get_object(
        Bucket=pipeline.resources.bucket, Key=key
    )
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
        SecretId=pipeline.resources.token_secret_name, SecretString="rotated-token"
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
