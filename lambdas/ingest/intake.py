"""Accepting one verified, valid order webhook: record it, queue it, exactly once per webhook-id.

Powertools Idempotency (keyed on `webhook-id`, validated on the body's hash) serialises
concurrent deliveries and replays the first answer, flagged as a duplicate. Underneath, the event
id is derived from the webhook-id and the events table refuses a second event, so a delivery
arriving after the idempotency record expired is still recognised. When the enqueue fails the
idempotency record is dropped and the event stays RECEIVED, so the sender's retry queues it.
"""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from pydantic import BaseModel, ConfigDict

from orders.messages import PIPELINE, DownloadRequested
from orders.webhook import OrderWebhook
from shared import aws_clients
from shared.batch import trace_attributes
from shared.event_store import EventStatus, EventStore
from shared.settings import FunctionSettings, get_settings

SOURCE = "qualia"
_EVENT_ID_NAMESPACE = uuid.UUID("5d0c3f57-6f0a-4a53-9d37-1f1b8c1d0e42")


class IngestSettings(FunctionSettings):
    idempotency_table_name: str
    download_queue_url: str
    webhook_secret_name: str
    max_body_bytes: int = 262144
    event_ttl_days: int = 365


class Delivery(BaseModel):
    model_config = ConfigDict(frozen=True)

    webhook_id: str
    body_sha256: str
    correlation_id: str
    order: OrderWebhook


class EnqueueError(Exception):
    """The event is recorded but could not be queued: the sender must retry."""


def event_id_for(webhook_id: str) -> str:
    """Deterministic, so every delivery of one webhook-id names the same event."""
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, f"{SOURCE}:{webhook_id}"))


def _flag_duplicate(response: Any, idempotent_data: DataRecord) -> Any:  # noqa: ARG001
    return {**response, "duplicate": True}


IDEMPOTENCY = IdempotencyConfig(
    event_key_jmespath="webhook_id",
    payload_validation_jmespath="body_sha256",
    expires_after_seconds=24 * 3600,
    response_hook=_flag_duplicate,
)


def accept_delivery(delivery: Delivery) -> dict[str, Any]:
    settings = get_settings(IngestSettings)
    events = EventStore(settings.events_table_name, ttl_days=settings.event_ttl_days)
    event_id = event_id_for(delivery.webhook_id)
    order = delivery.order
    created = events.record_received(
        event_id,
        {
            "pipeline": PIPELINE,
            "source": SOURCE,
            "webhook_id": delivery.webhook_id,
            "order_id": order.order_id,
            "event_type": order.event_type.value,
            "occurred_at": order.timestamp.isoformat(),
            "correlation_id": delivery.correlation_id,
            "webhook": order.model_dump(mode="json"),
        },
    )
    if not created:
        existing = events.get(event_id) or {}
        return {"event_id": event_id, "status": existing.get("status"), "duplicate": True}

    message = DownloadRequested(
        event_id=event_id,
        order_id=order.order_id,
        event_type=order.event_type,
        correlation_id=delivery.correlation_id,
    )
    try:
        aws_clients.sqs().send_message(
            QueueUrl=settings.download_queue_url,
            MessageBody=message.model_dump_json(),
            MessageAttributes=trace_attributes(event_id, delivery.correlation_id),
        )
    except Exception as exc:
        raise EnqueueError(f"could not queue event {event_id}: {type(exc).__name__}") from exc
    # False when the download worker already moved it on: that is fine.
    events.transition(event_id, EventStatus.QUEUED)
    return {"event_id": event_id, "status": EventStatus.QUEUED.value, "duplicate": False}


@lru_cache(maxsize=1)
def idempotent_accept() -> Any:
    """`accept_delivery` behind Powertools Idempotency; built on first use (needs settings)."""
    persistence = DynamoDBPersistenceLayer(
        table_name=get_settings(IngestSettings).idempotency_table_name,
        boto3_client=aws_clients.dynamodb_client(),
    )
    return idempotent_function(
        data_keyword_argument="delivery",
        config=IDEMPOTENCY,
        persistence_store=persistence,
    )(accept_delivery)
