"""The operator endpoints on moto: events, stats, health, DLQ redrive, replay."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest

from local.http_stub import StubResponse
from tests.support.aws_errors import aws_error
from tests.support.flows import accept_webhook, event_item, run_download, run_processing
from tests.support.lambda_events import FakeLambdaContext, api_event, response_json
from tests.support.ops import ops
from tests.support.orders import marketplace_order
from tests.support.pipeline import Pipeline
from tests.support.pump import receive


def get_event(event_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    from ops_api.handler import handler

    event = api_event(
        "GET",
        f"/events/{event_id}",
        resource="/events/{event_id}",
        headers=headers or {},
        path_parameters={"event_id": event_id},
    )
    return handler(event, FakeLambdaContext())


def test_an_event_is_returned_with_its_status_and_history(pipeline: Pipeline) -> None:
    event_id = accept_webhook(pipeline.signing_secret, "QO-424242")

    response = get_event(event_id, {"X-Request-ID": "ops-1"})

    assert response["statusCode"] == 200
    body = response_json(response)
    assert body["request_id"] == "ops-1"
    assert body["data"]["event_id"] == event_id
    assert body["data"]["status"] == "QUEUED"
    assert body["data"]["order_id"] == "QO-424242"
    assert [h["status"] for h in body["data"]["status_history"]] == ["RECEIVED", "QUEUED"]
    assert "expires_at" not in body["data"]


def test_an_unknown_event_is_404_not_found(pipeline: Pipeline) -> None:
    response = get_event(str(uuid.uuid4()))
    assert response["statusCode"] == 404
    body = response_json(response)
    assert body["status"] == "failure"
    assert body["error"]["code"] == "NOT_FOUND"
    assert body["data"] is None


def test_a_malformed_event_id_is_400(pipeline: Pipeline) -> None:
    response = get_event("not-a-uuid")
    assert response["statusCode"] == 400
    assert response_json(response)["error"]["code"] == "VALIDATION_ERROR"


def test_events_are_listed_newest_first_across_pages(pipeline: Pipeline) -> None:
    # Given five accepted events
    ids = [accept_webhook(pipeline.signing_secret, f"QO-30000{n}") for n in range(5)]

    # When they are listed two at a time, following the cursor
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"status": "QUEUED", "pipeline": "marketplace_orders", "limit": "2"}
        if cursor:
            params["cursor"] = cursor
        body = response_json(ops("GET", "/events", "/events", params))
        seen += [e["event_id"] for e in body["data"]["events"]]
        pages += 1
        cursor = body["data"]["next_cursor"]
        if not cursor:
            break

    # Then every event came once, newest first, in pages of at most two
    assert pages >= 3
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))
    received = [event_item(e)["received_at"] for e in seen]
    assert received == sorted(received, reverse=True)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "status"),
        ({"status": "LOST"}, "status"),
        ({"status": "QUEUED", "limit": "0"}, "limit"),
        ({"status": "QUEUED", "cursor": "bm90LWEtY3Vyc29y"}, "cursor"),
    ],
)
def test_bad_list_parameters_are_400(
    pipeline: Pipeline, params: dict[str, str], field: str
) -> None:
    response = ops("GET", "/events", "/events", params)
    assert response["statusCode"] == 400
    assert response_json(response)["error"]["details"][0]["field"] == field


def test_stats_count_events_and_read_queue_depths(pipeline: Pipeline) -> None:
    for n in range(3):
        accept_webhook(pipeline.signing_secret, f"QO-40000{n}")

    body = response_json(ops("GET", "/stats", "/stats"))["data"]

    assert body["events_by_status"]["QUEUED"] == {"marketplace_orders": 3}
    assert body["events_by_status"]["PROCESSED"] == {}
    assert body["oldest_in_flight_event"]["age_seconds"] >= 0
    assert body["queues"]["download"]["queue"]["visible"] == 3
    assert body["queues"]["processing"]["dlq"]["visible"] == 0


def test_health_checks_every_dependency(pipeline: Pipeline) -> None:
    body = response_json(ops("GET", "/health", "/health"))["data"]
    assert body["status"] == "healthy"
    stages = ("download", "processing", "erp-high", "erp-standard", "erp-low", "enrichment")
    assert set(body["checks"]) == {
        "events_table", "payload_bucket",
        *(f"{kind}:{stage}" for stage in stages for kind in ("queue", "dlq")),
    }  # fmt: skip
    assert body["dlq_depths"] == dict.fromkeys(stages, 0)


def test_health_is_degraded_when_a_dependency_fails(pipeline: Pipeline) -> None:
    boto3.client("sqs", region_name="us-east-1").delete_queue(
        QueueUrl=pipeline.resources.processing.dlq_url
    )
    body = response_json(ops("GET", "/health", "/health"))["data"]
    assert body["status"] == "degraded"
    assert body["checks"]["dlq:processing"]["ok"] is False
    assert body["checks"]["events_table"]["ok"] is True


def test_a_dlq_holding_messages_is_redriven_to_its_source(pipeline: Pipeline) -> None:
    # Given a dead-lettered download (the marketplace did not know the order)
    pipeline.marketplace.script("GET", "/orders/QO-505050", StubResponse(404))
    event_id = accept_webhook(pipeline.signing_secret, "QO-505050")
    queue = pipeline.resources.download
    run_download(queue.url, queue.arn)
    assert event_item(event_id)["status"] == "DEAD_LETTERED"

    # When an operator redrives the download DLQ
    started = ops("POST", "/dlq/download/redrive", "/dlq/{queue}/redrive", queue="download")
    progress = ops("GET", "/dlq/download/redrive", "/dlq/{queue}/redrive", queue="download")

    # Then the message is back on the download queue, and the next run completes the event
    assert started["statusCode"] == 202
    assert response_json(started)["data"]["task_handle"]
    [task] = response_json(progress)["data"]["tasks"]
    assert (task["status"], task["moved"]) == ("COMPLETED", 1)
    assert response_json(progress)["data"]["dlq_depth"] == 0
    assert run_download(queue.url, queue.arn) == (1, [])
    assert event_item(event_id)["status"] == "DOWNLOADED"


def test_redriving_an_unknown_queue_is_404(pipeline: Pipeline) -> None:
    response = ops("POST", "/dlq/nope/redrive", "/dlq/{queue}/redrive", queue="nope")
    assert response["statusCode"] == 404
    assert (
        "known are download, enrichment, erp-high, erp-low, erp-standard, processing"
        in response_json(response)["error"]["message"]
    )


def test_a_dead_lettered_event_is_replayed_at_its_stage_and_completes(pipeline: Pipeline) -> None:
    # Given an order dead-lettered at processing (its state was unknown), since corrected
    pipeline.marketplace.script(
        "GET",
        "/orders/QO-606060",
        StubResponse(200, marketplace_order("QO-606060", state="Nowhere")),
    )
    event_id = accept_webhook(pipeline.signing_secret, "QO-606060")
    download, processing = pipeline.resources.download, pipeline.resources.processing
    run_download(download.url, download.arn)
    run_processing(processing.url, processing.arn)
    assert event_item(event_id)["dead_letter"]["stage"] == "processing"

    # When it is replayed: the processing stage reads the stored raw order again
    response = ops(
        "POST", f"/events/{event_id}/replay", "/events/{event_id}/replay", event_id=event_id
    )

    assert response["statusCode"] == 202
    assert response_json(response)["data"]["stage"] == "processing"
    assert event_item(event_id)["last_replay"]["stage"] == "processing"
    # the stored raw order still names "Nowhere": it dead-letters again, nothing is made up
    run_processing(processing.url, processing.arn)
    assert event_item(event_id)["status"] == "DEAD_LETTERED"
    assert pipeline.internal_api.requests_to("POST", "/orders") == []


def test_a_replayed_download_completes_the_event(pipeline: Pipeline) -> None:
    pipeline.marketplace.script("GET", "/orders/QO-707070", StubResponse(404))
    event_id = accept_webhook(pipeline.signing_secret, "QO-707070")
    download, processing = pipeline.resources.download, pipeline.resources.processing
    run_download(download.url, download.arn)
    assert event_item(event_id)["status"] == "DEAD_LETTERED"

    # The marketplace now knows the order (no more scripted 404): replay and run the stages
    response = ops(
        "POST", f"/events/{event_id}/replay", "/events/{event_id}/replay", event_id=event_id
    )
    assert response_json(response)["data"]["stage"] == "download"
    assert run_download(download.url, download.arn) == (1, [])
    assert run_processing(processing.url, processing.arn) == (1, [])
    assert event_item(event_id)["status"] == "PROCESSED"


def test_replaying_an_event_that_is_not_dead_lettered_needs_force(pipeline: Pipeline) -> None:
    event_id = accept_webhook(pipeline.signing_secret, "QO-808080")
    path, resource = f"/events/{event_id}/replay", "/events/{event_id}/replay"

    refused = ops("POST", path, resource, event_id=event_id)
    forced = ops("POST", path, resource, {"force": "true"}, event_id=event_id)

    assert refused["statusCode"] == 409
    assert "not DEAD_LETTERED" in response_json(refused)["error"]["message"]
    assert forced["statusCode"] == 202
    assert len(receive(pipeline.resources.download.url)) == 2  # the original and the replay


@pytest.mark.parametrize(
    ("code", "status"),
    [("ProvisionedThroughputExceededException", 400), ("InternalServerError", 500)],
)
def test_dynamodb_throttled_or_failing_is_503_with_retry_after(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, code: str, status: int
) -> None:
    from shared import aws_clients

    event_id = accept_webhook(pipeline.signing_secret, "QO-424243")

    def refuse(**_: Any) -> None:
        raise aws_error(code, status, "GetItem")

    monkeypatch.setattr(aws_clients.dynamodb_client(), "get_item", refuse)
    response = get_event(event_id)

    assert response["statusCode"] == 503
    assert response["multiValueHeaders"]["Retry-After"] == ["5"]
    assert response_json(response)["error"]["code"] == "SERVICE_UNAVAILABLE"


def test_an_aws_refusal_a_retry_cannot_fix_is_500_not_503(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared import aws_clients

    def refuse(**_: Any) -> None:
        raise aws_error("AccessDeniedException", 400, "GetItem")

    monkeypatch.setattr(aws_clients.dynamodb_client(), "get_item", refuse)
    response = get_event(str(uuid.uuid4()))

    assert response["statusCode"] == 500
    assert "Retry-After" not in response["multiValueHeaders"]
    assert response_json(response)["error"]["code"] == "INTERNAL_ERROR"


def test_a_list_whose_batch_read_dynamodb_keeps_throttling_is_503(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared import aws_clients

    accept_webhook(pipeline.signing_secret, "QO-424244")
    monkeypatch.setattr("time.sleep", lambda _: None)  # the pauses between attempts

    def nothing_processed(RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        return {"Responses": {}, "UnprocessedKeys": RequestItems}

    monkeypatch.setattr(aws_clients.dynamodb_client(), "batch_get_item", nothing_processed)
    response = ops("GET", "/events", "/events", {"status": "QUEUED"})

    assert response["statusCode"] == 503
    assert response_json(response)["error"]["code"] == "SERVICE_UNAVAILABLE"
