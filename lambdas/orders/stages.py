"""The order pipeline's worker stages, given their adapters.

- `Download`: marketplace API → S3 (with SHA-256) → processing queue → DOWNLOADED.
- `Processing`: S3 (checksum verified) → internal order model → internal API → PROCESSED.

A ping (`ops smoke`) passes both without calling the marketplace or the internal API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import ValidationError

from orders.clients import InternalOrdersClient, MarketplaceClient
from orders.jurisdictions import UnknownJurisdictionError
from orders.marketplace import MarketplaceOrder
from orders.messages import (
    DOWNLOAD_STAGE,
    PROCESSING_STAGE,
    DownloadRequested,
    ProcessingRequested,
)
from orders.ping import PING_OUTCOME, is_ping_document, ping_document
from orders.store import PayloadStore, payload_key
from orders.transform import OrderTransformError, to_internal_order
from orders.webhook import OrderEventType
from shared import aws_clients
from shared.errors import NonRetryableError
from shared.event_status import EventStatus
from shared.event_store import EventStore
from shared.failure_policy import Stage
from shared.message_attributes import trace_attributes
from shared.metric_names import Metric
from shared.metrics import count
from shared.observability import logger
from shared.sources import Pipeline

DOWNLOAD = Stage(
    Pipeline.MARKETPLACE_ORDERS,
    DOWNLOAD_STAGE,
    dead_letter_metric=Metric.ORDER_DEAD_LETTERED,
    # What the stage records on the event when it is done: a redelivery finding it skips.
    done_marker="s3_key",
)
PROCESSING = Stage(
    Pipeline.MARKETPLACE_ORDERS, PROCESSING_STAGE, dead_letter_metric=Metric.ORDER_DEAD_LETTERED
)


@dataclass(frozen=True)
class Download:
    marketplace: MarketplaceClient
    payloads: PayloadStore
    events: EventStore
    processing_queue_url: str

    def run(self, message: DownloadRequested) -> None:
        ping = message.event_type is OrderEventType.PING
        # A ping stores a document of its own: S3, the queue and the status table are
        # exercised, the marketplace is not called.
        raw = (
            ping_document(message.event_id)
            if ping
            else self.marketplace.fetch_order(message.order_id)
        )
        try:
            document = json.loads(raw)
        except ValueError as exc:
            raise NonRetryableError(
                "the marketplace answered with a body that is not JSON"
            ) from exc
        if not isinstance(document, dict):
            raise NonRetryableError("the marketplace answered with JSON that is not an object")

        stored = self.payloads.put(payload_key(message.order_id, message.event_id), raw)
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
            QueueUrl=self.processing_queue_url,
            MessageBody=next_message.model_dump_json(),
            MessageAttributes=trace_attributes(message.event_id, message.correlation_id),
        )
        # The status is written last: if anything above fails, the redelivery does it all again.
        self.events.transition(
            message.event_id,
            EventStatus.DOWNLOADED,
            attributes={
                "s3_key": stored.key,
                "s3_version_id": stored.version_id,
                "sha256": stored.sha256,
            },
        )
        if not ping:
            count(Metric.ORDER_DOWNLOADED)
        logger.info("order downloaded", extra={"s3_key": stored.key, "bytes": len(raw)})


@dataclass(frozen=True)
class Processing:
    payloads: PayloadStore
    events: EventStore
    internal_api: InternalOrdersClient

    def run(self, message: ProcessingRequested) -> None:
        raw = self.payloads.get_verified(message.s3_key, message.s3_version_id, message.sha256)
        if message.ping:
            if not is_ping_document(raw, message.event_id):
                raise NonRetryableError("the ping's stored document is not the ping it sent")
            self.events.transition(
                message.event_id, EventStatus.PROCESSED, attributes={"outcome": PING_OUTCOME}
            )
            logger.info("ping processed; the internal API was not called")
            return
        order = _order(raw, message)
        try:
            internal = to_internal_order(order, event_id=message.event_id)
        except (UnknownJurisdictionError, OrderTransformError) as exc:
            raise NonRetryableError(str(exc)) from exc
        internal_id = self.internal_api.create_order(internal, idempotency_key=message.event_id)
        self.events.transition(
            message.event_id, EventStatus.PROCESSED, attributes={"internal_order_id": internal_id}
        )
        count(Metric.ORDER_PROCESSED)
        logger.info("order processed", extra={"internal_order_id": internal_id})


def _order(raw: bytes, message: ProcessingRequested) -> MarketplaceOrder:
    """The stored document as a marketplace order of this message; never retried when it is
    not one (the same bytes would fail the same way)."""
    try:
        order = MarketplaceOrder.model_validate_json(raw)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in err["loc"]) for err in exc.errors()})
        raise NonRetryableError(f"marketplace order is invalid: {', '.join(fields)}") from exc
    if order.id != message.order_id:
        raise NonRetryableError(f"payload is order {order.id}, expected {message.order_id}")
    return order
