"""Download stage: marketplace API → S3 (with SHA-256) → processing queue → DOWNLOADED."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from orders.clients import MarketplaceClient
from orders.messages import PIPELINE, DownloadRequested, ProcessingRequested
from orders.payload_store import PayloadStore, payload_key
from orders.ping import ping_document
from orders.webhook import OrderEventType
from shared import aws_clients
from shared.batch import Attempt, trace_attributes
from shared.errors import NonRetryableError
from shared.event_store import EventStatus
from shared.metrics import count
from shared.observability import logger, tracer
from shared.secrets import get_secret
from shared.settings import get_settings
from shared.worker import (
    StageRuntime,
    WorkerSettings,
    parse_message,
    stage_runtime,
    worker_handler,
)

STAGE = "download"


class DownloadSettings(WorkerSettings):
    download_dlq_url: str
    payload_bucket_name: str
    processing_queue_url: str
    marketplace_api_base_url: str
    marketplace_token_secret_name: str


@dataclass(frozen=True)
class _Dependencies:
    settings: DownloadSettings
    stage: StageRuntime
    payloads: PayloadStore
    marketplace: MarketplaceClient


@lru_cache(maxsize=1)
def _deps() -> _Dependencies:
    settings = get_settings(DownloadSettings)
    stage = stage_runtime(
        settings,
        pipeline=PIPELINE,
        stage=STAGE,
        dlq_url=settings.download_dlq_url,
        dead_letter_metric="OrderDeadLettered",
        is_done=downloaded,
    )
    return _Dependencies(
        settings=settings,
        stage=stage,
        payloads=PayloadStore(settings.payload_bucket_name),
        marketplace=MarketplaceClient(
            stage.http,
            settings.marketplace_api_base_url,
            lambda force: get_secret(settings.marketplace_token_secret_name, force_fetch=force),
        ),
    )


def downloaded(event: dict[str, Any]) -> bool:
    """The raw order is stored (whatever the processing stage did since), or it is done."""
    return "s3_key" in event or event["status"] == EventStatus.PROCESSED.value


@tracer.capture_method
def download(record: SQSRecord, attempt: Attempt) -> None:  # noqa: ARG001 - one way for every stage
    deps = _deps()
    message = parse_message(DownloadRequested, record)
    ping = message.event_type is OrderEventType.PING
    # A ping stores a document of its own: S3, the queue and the status table are exercised,
    # the marketplace is not called.
    raw = (
        ping_document(message.event_id) if ping else deps.marketplace.fetch_order(message.order_id)
    )
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise NonRetryableError("the marketplace answered with a body that is not JSON") from exc
    if not isinstance(document, dict):
        raise NonRetryableError("the marketplace answered with JSON that is not an object")

    stored = deps.payloads.put(payload_key(message.order_id, message.event_id), raw)
    next_message = ProcessingRequested(
        event_id=message.event_id,
        order_id=message.order_id,
        correlation_id=message.correlation_id,
        ping=ping,
        s3_key=stored.key,
        s3_version_id=stored.version_id,
        sha256=stored.sha256,
    )
    aws_clients.sqs().send_message(
        QueueUrl=deps.settings.processing_queue_url,
        MessageBody=next_message.model_dump_json(),
        MessageAttributes=trace_attributes(message.event_id, message.correlation_id),
    )
    # The status is written last: if anything above fails, the redelivery does it all again.
    deps.stage.events.transition(
        message.event_id,
        EventStatus.DOWNLOADED,
        attributes={
            "s3_key": stored.key,
            "s3_version_id": stored.version_id,
            "sha256": stored.sha256,
        },
    )
    if not ping:
        count("OrderDownloaded")
    logger.info("order downloaded", extra={"s3_key": stored.key, "bytes": len(raw)})


handler = worker_handler(lambda: _deps().stage, download)
