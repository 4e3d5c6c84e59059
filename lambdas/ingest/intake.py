"""The order webhook's submission to the shared intake: what is stored and what is queued."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from orders.messages import PIPELINE, DownloadRequested
from orders.webhook import OrderWebhook
from shared.intake import IntakeSettings, Submission, event_id_for

SOURCE = "qualia"


class IngestSettings(IntakeSettings):
    download_queue_url: str
    webhook_secret_name: str
    max_body_bytes: int = 262144


class Delivery(BaseModel):
    model_config = ConfigDict(frozen=True)

    webhook_id: str
    body_sha256: str
    correlation_id: str
    order: OrderWebhook


def submission(delivery: Delivery, settings: IngestSettings) -> Submission:
    """Deduplicated on the Standard Webhooks `webhook-id`; a reused id with another body is
    refused by the payload hash."""
    order = delivery.order
    message = DownloadRequested(
        event_id=event_id_for(SOURCE, delivery.webhook_id),
        order_id=order.order_id,
        event_type=order.event_type,
        correlation_id=delivery.correlation_id,
    )
    return Submission(
        source=SOURCE,
        dedupe_key=delivery.webhook_id,
        payload_sha256=delivery.body_sha256,
        correlation_id=delivery.correlation_id,
        pipeline=PIPELINE,
        attributes={
            "webhook_id": delivery.webhook_id,
            "order_id": order.order_id,
            "event_type": order.event_type.value,
            "occurred_at": order.timestamp.isoformat(),
            "webhook": order.model_dump(mode="json"),
        },
        queue_url=settings.download_queue_url,
        message=message.model_dump(mode="json"),
    )
