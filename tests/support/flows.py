"""Steps of the order pipeline as a test drives them: deliver a webhook, run a stage."""

from __future__ import annotations

from typing import Any

from tests.support import tables
from tests.support.lambda_events import FakeLambdaContext, api_event, response_json
from tests.support.pipeline import Pipeline
from tests.support.pump import deliver_once, drain, receive
from tests.support.signing import order_webhook_body, signed_headers

ORDER_WEBHOOK_PATH = "/webhooks/qualia"


def post_webhook(body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    """POST an order webhook through the ingest handler, as API Gateway invokes it."""
    from ingest.handler import handler

    event = api_event("POST", ORDER_WEBHOOK_PATH, body=body, headers=headers)
    return dict(handler(event, FakeLambdaContext()))


def accept_webhook(signing_secret: str, order_id: str) -> str:
    """POST a signed order webhook, expecting 202; returns the event id."""
    body = order_webhook_body(order_id)
    response = post_webhook(body, signed_headers(body, signing_secret))
    assert response["statusCode"] == 202, response["body"]
    return str(response_json(response)["data"]["event_id"])


def queued_downloads(pipeline: Pipeline) -> list[dict[str, Any]]:
    """What a receive on the download queue gets now (the messages stay in flight)."""
    return receive(pipeline.resources.download.url)


def run_download(queue_url: str, queue_arn: str) -> tuple[int, list[str]]:
    from download_worker.handler import handler

    return deliver_once(handler, queue_url, queue_arn)


def run_processing(queue_url: str, queue_arn: str) -> tuple[int, list[str]]:
    from processing_worker.handler import handler

    return deliver_once(handler, queue_url, queue_arn)


def drain_stage(stage: str, queue_url: str, queue_arn: str) -> int:
    if stage == "download":
        from download_worker.handler import handler
    else:
        from processing_worker.handler import handler
    return drain(handler, queue_url, queue_arn)


def event_item(event_id: str) -> dict[str, Any]:
    """The events table's item, or {} when there is none."""
    return dict(tables.events().get_item(Key={"event_id": event_id}).get("Item", {}))


def history(event_id: str) -> list[str]:
    return [entry["status"] for entry in event_item(event_id).get("status_history", [])]
