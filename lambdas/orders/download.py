"""The download stage: marketplace API → S3 (with SHA-256) → processing queue → DOWNLOADED.
A ping stores a document of its own and does not call the marketplace."""

from __future__ import annotations

import json
from dataclasses import dataclass

from orders.clients import MarketplaceClient
from orders.messages import DownloadRequested, ProcessingRequested
from orders.ping import ping_document
from orders.store import PayloadStore, payload_key
from orders.webhook import OrderEventType
from shared import aws_clients
from shared.errors import NonRetryableError
from shared.event_status import EventStatus
from shared.event_store import EventStore
from shared.message_attributes import trace_attributes
from shared.metric_names import Metric
from shared.metrics import count
from shared.observability import logger


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
