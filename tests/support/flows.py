"""Steps of the order pipeline as a test drives them: deliver a webhook, run a stage."""

from __future__ import annotations

from typing import Any

import boto3

from tests.support.aws import REGION
from tests.support.lambda_events import FakeLambdaContext, api_event, response_json
from tests.support.pump import deliver_once, drain
from tests.support.signing import order_webhook_body, signed_headers


def accept_webhook(signing_secret: str, order_id: str) -> str:
    """POST a signed order webhook through the ingest handler; returns the event id."""
    from ingest.handler import handler

    body = order_webhook_body(order_id)
    event = api_event(
        "POST", "/webhooks/qualia", body=body, headers=signed_headers(body, signing_secret)
    )
    response = handler(event, FakeLambdaContext())
    assert response["statusCode"] == 202, response["body"]
    return str(response_json(response)["data"]["event_id"])


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
    table = boto3.resource("dynamodb", region_name=REGION).Table("events")
    return table.get_item(Key={"event_id": event_id}).get("Item", {})


def history(event_id: str) -> list[str]:
    return [entry["status"] for entry in event_item(event_id).get("status_history", [])]
