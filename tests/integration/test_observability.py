"""What on-call sees: business metrics (EMF) and one correlation id across every stage."""

from __future__ import annotations

import io

import pytest

from local.http_stub import StubResponse
from tests.support.flows import drain_stage
from tests.support.lambda_events import FakeLambdaContext, api_event, response_json
from tests.support.output import emitted_metrics, json_lines
from tests.support.pipeline import Pipeline
from tests.support.signing import order_webhook_body, signed_headers


def post(pipeline: Pipeline, body: bytes, headers: dict[str, str] | None = None) -> int:
    from ingest.handler import handler

    all_headers = {**signed_headers(body, pipeline.signing_secret), **(headers or {})}
    event = api_event("POST", "/webhooks/qualia", body=body, headers=all_headers)
    return int(handler(event, FakeLambdaContext())["statusCode"])


def test_ingest_emits_accepted_duplicate_and_rejected_by_reason(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    body = order_webhook_body()
    headers = signed_headers(body, pipeline.signing_secret)
    from ingest.handler import handler

    for _ in range(2):
        handler(
            api_event("POST", "/webhooks/qualia", body=body, headers=headers), FakeLambdaContext()
        )
    assert post(pipeline, body, {"webhook-signature": "v1,AAAA"}) == 401
    assert post(pipeline, b"{}") == 400

    metrics = emitted_metrics(capsys.readouterr().out)
    names = [name for name, _ in metrics]
    assert names.count("WebhookAccepted") == 1
    assert names.count("WebhookDuplicate") == 1
    rejected = [dims["reason"] for name, dims in metrics if name == "WebhookRejected"]
    assert sorted(rejected) == ["signature", "validation"]


def test_every_stage_logs_the_same_correlation_id_and_event_id(
    pipeline: Pipeline, info_logs: io.StringIO
) -> None:
    # Given a webhook carrying the sender's request id
    from ingest.handler import handler

    body = order_webhook_body("QO-909090")
    headers = {**signed_headers(body, pipeline.signing_secret), "X-Request-ID": "corr-e2e-1"}
    response = handler(
        api_event("POST", "/webhooks/qualia", body=body, headers=headers), FakeLambdaContext()
    )
    event_id = response_json(response)["data"]["event_id"]

    # When both stages run
    resources = pipeline.resources
    drain_stage("download", resources.download.url, resources.download.arn)
    drain_stage("processing", resources.processing.url, resources.processing.arn)

    # Then every log line of every stage names the same correlation id and event
    logs = [line for line in json_lines(info_logs.getvalue()) if "level" in line]
    ingest_lines = [line for line in logs if line.get("message") == "webhook accepted"]
    assert [line["correlation_id"] for line in ingest_lines] == ["corr-e2e-1"]
    stage_lines = [line for line in logs if "stage" in line]
    assert {line["stage"] for line in stage_lines} == {"download", "processing"}
    assert {line["correlation_id"] for line in stage_lines} == {"corr-e2e-1"}
    assert {line["event_id"] for line in stage_lines} == {event_id}


def test_dead_lettering_emits_order_dead_lettered(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline.marketplace.script("GET", "/orders/QO-404001", StubResponse(404))
    assert post(pipeline, order_webhook_body("QO-404001")) == 202
    resources = pipeline.resources
    drain_stage("download", resources.download.url, resources.download.arn)

    names = [name for name, _ in emitted_metrics(capsys.readouterr().out)]
    assert names.count("OrderDeadLettered") == 1
    assert "OrderDownloaded" not in names
