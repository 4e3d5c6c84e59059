"""The order webhook's intake: verify the signature, validate the body, then submit it to the
shared intake (record the event, queue its download) once per Standard Webhooks `webhook-id`."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import BaseModel, ConfigDict, ValidationError

from orders.messages import DownloadRequested
from orders.webhook import OrderWebhook
from shared.api import ApiError, ErrorCode, correlation_id_of
from shared.dynamo import as_sent
from shared.event_time import EventTimeWindow, implausible
from shared.intake import IntakeSettings, Outcomes, Submission, event_id_for, submit
from shared.metric_names import Metric
from shared.observability import logger, tracer
from shared.signatures import parse_secrets, verify_signature
from shared.sources import Pipeline, Source
from shared.webhook_requests import WebhookRequests

REQUESTS = WebhookRequests(rejected_metric=Metric.WEBHOOK_REJECTED)


class OrderIntakeSettings(IntakeSettings):
    download_queue_url: str
    webhook_secret_name: str


class Delivery(BaseModel):
    model_config = ConfigDict(frozen=True)

    webhook_id: str
    body_sha256: str
    correlation_id: str
    order: OrderWebhook


def receive(
    event: APIGatewayProxyEvent, lambda_context: Any, settings: OrderIntakeSettings
) -> dict[str, Any]:
    """The intake's answer for one delivery (`duplicate` tells a repeat), or an `ApiError`."""
    body = REQUESTS.raw_body(event, settings.max_body_bytes)
    secret = REQUESTS.credentials(
        settings.webhook_secret_name,
        unavailable_message="the webhook cannot be verified right now; retry the delivery",
    )
    secrets = parse_secrets(secret)
    verified = REQUESTS.authenticated(
        lambda: verify_signature(body, event.headers, secrets),
        reason="signature",
        message="signature rejected: ",
    )
    order = _valid_order(REQUESTS.json_document(event, body), settings.event_time_window)
    logger.append_keys(webhook_id=verified.message_id, order_id=order.order_id)
    tracer.put_annotation("pipeline", Pipeline.MARKETPLACE_ORDERS.value)
    delivery = Delivery(
        webhook_id=verified.message_id,
        body_sha256=hashlib.sha256(body).hexdigest(),
        correlation_id=correlation_id_of(event),
        order=order,
    )
    return submit(submission(delivery, settings), lambda_context, _OUTCOMES)


def _key_reused() -> ApiError:
    return REQUESTS.reject(
        "webhook_id_reused",
        ApiError(
            HTTPStatus.CONFLICT,
            ErrorCode.CONFLICT,
            "this webhook-id was already delivered with a different body",
        ),
    )


_OUTCOMES = Outcomes(
    accepted=Metric.WEBHOOK_ACCEPTED, duplicate=Metric.WEBHOOK_DUPLICATE, key_reused=_key_reused
)


def _valid_order(document: Any, window: EventTimeWindow) -> OrderWebhook:
    """The webhook body, or a 400 listing what is wrong (its own time included)."""
    try:
        order = OrderWebhook.model_validate(document)
    except ValidationError as exc:
        details = [
            {"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"]}
            for err in exc.errors()
        ]
        raise REQUESTS.reject("validation", _invalid(details)) from exc
    if problem := implausible(order.timestamp, now=datetime.now(UTC), window=window):
        raise REQUESTS.reject(
            "implausible_time", _invalid([{"field": "timestamp", "message": problem}])
        )
    return order


def _invalid(details: list[dict[str, str]]) -> ApiError:
    return ApiError(
        HTTPStatus.BAD_REQUEST,
        ErrorCode.VALIDATION_ERROR,
        "the webhook body is invalid",
        details=details,
    )


def submission(delivery: Delivery, settings: OrderIntakeSettings) -> Submission:
    """Deduplicated on the Standard Webhooks `webhook-id`; a reused id with another body is
    refused by the payload hash."""
    order = delivery.order
    message = DownloadRequested(
        event_id=event_id_for(Source.MARKETPLACE, delivery.webhook_id),
        order_id=order.order_id,
        event_type=order.event_type,
        correlation_id=delivery.correlation_id,
    )
    return Submission(
        source=Source.MARKETPLACE.value,
        dedupe_key=delivery.webhook_id,
        payload_sha256=delivery.body_sha256,
        correlation_id=delivery.correlation_id,
        pipeline=Pipeline.MARKETPLACE_ORDERS.value,
        attributes={
            "webhook_id": delivery.webhook_id,
            "order_id": order.order_id,
            "event_type": order.event_type.value,
            "occurred_at": as_sent(order.timestamp),
            "webhook": order.model_dump(mode="json"),
        },
        queue_url=settings.download_queue_url,
        message=message.model_dump(mode="json"),
    )
