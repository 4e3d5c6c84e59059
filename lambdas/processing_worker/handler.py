"""Processing stage: S3 (checksum verified) → internal order model → internal API → PROCESSED."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from orders.clients import InternalOrdersClient
from orders.jurisdictions import UnknownJurisdictionError
from orders.marketplace import MarketplaceOrder
from orders.messages import PIPELINE, ProcessingRequested
from orders.payload_store import PayloadStore
from orders.ping import PING_OUTCOME, is_ping_document
from orders.transform import OrderTransformError, to_internal_order
from shared.batch import Attempt
from shared.errors import NonRetryableError
from shared.event_store import EventStatus
from shared.metrics import count
from shared.observability import logger, tracer
from shared.settings import get_settings
from shared.worker import (
    StageRuntime,
    WorkerSettings,
    parse_message,
    stage_runtime,
    worker_handler,
)

STAGE = "processing"


class ProcessingSettings(WorkerSettings):
    processing_dlq_url: str
    payload_bucket_name: str
    internal_api_base_url: str


@dataclass(frozen=True)
class _Dependencies:
    stage: StageRuntime
    payloads: PayloadStore
    internal_api: InternalOrdersClient


@lru_cache(maxsize=1)
def _deps() -> _Dependencies:
    settings = get_settings(ProcessingSettings)
    stage = stage_runtime(
        settings,
        pipeline=PIPELINE,
        stage=STAGE,
        dlq_url=settings.processing_dlq_url,
        dead_letter_metric="OrderDeadLettered",
        is_done=processed,
    )
    return _Dependencies(
        stage=stage,
        payloads=PayloadStore(settings.payload_bucket_name),
        internal_api=InternalOrdersClient(stage.http, settings.internal_api_base_url),
    )


def processed(event: dict[str, Any]) -> bool:
    return bool(event["status"] == EventStatus.PROCESSED.value)


@tracer.capture_method
def process(record: SQSRecord, attempt: Attempt) -> None:  # noqa: ARG001 - one way for every stage
    deps = _deps()
    message = parse_message(ProcessingRequested, record)
    raw = deps.payloads.get_verified(message.s3_key, message.s3_version_id, message.sha256)
    if message.ping:
        if not is_ping_document(raw, message.event_id):
            raise NonRetryableError("the ping's stored document is not the ping it sent")
        deps.stage.events.transition(
            message.event_id, EventStatus.PROCESSED, attributes={"outcome": PING_OUTCOME}
        )
        logger.info("ping processed; the internal API was not called")
        return
    try:
        order = MarketplaceOrder.model_validate_json(raw)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in err["loc"]) for err in exc.errors()})
        raise NonRetryableError(f"marketplace order is invalid: {', '.join(fields)}") from exc
    if order.id != message.order_id:
        raise NonRetryableError(f"payload is order {order.id}, expected {message.order_id}")
    try:
        internal = to_internal_order(order, event_id=message.event_id)
    except (UnknownJurisdictionError, OrderTransformError) as exc:
        raise NonRetryableError(str(exc)) from exc

    internal_id = deps.internal_api.create_order(internal, idempotency_key=message.event_id)
    deps.stage.events.transition(
        message.event_id, EventStatus.PROCESSED, attributes={"internal_order_id": internal_id}
    )
    count("OrderProcessed")
    logger.info("order processed", extra={"internal_order_id": internal_id})


handler = worker_handler(lambda: _deps().stage, process)
