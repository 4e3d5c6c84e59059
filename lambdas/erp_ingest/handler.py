"""POST /webhooks/zoho/{entity}: authenticate, validate per entity, keep in the inbox, queue by
priority lane, answer fast."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import Field

from erp.entities import PIPELINE, ROUTES, SOURCE, ErpWebhook, FieldError, validate_webhook
from erp.inbox import DeliveryIdentity, canonical_json, content_hash, identify, large_data_key
from erp.latest_deliveries import LatestDeliveries
from erp.messages import ErpSyncRequested
from erp.priority import lane_of, priority_of
from shared import claim_check
from shared.api import (
    ApiError,
    ErrorCode,
    answers,
    api_handler,
    correlation_id_of,
    create_resolver,
    header,
    success,
)
from shared.claim_check import INLINE_BYTES, ClaimRef
from shared.event_store import EventStore, stored
from shared.event_time import implausible
from shared.intake import IntakeSettings, KeyReusedError, Submission, submit, unavailable
from shared.metrics import count
from shared.observability import logger, tracer
from shared.secrets import get_secret
from shared.settings import get_settings
from shared.signatures import SignatureError, verify_api_key
from shared.webhook_requests import WebhookRequests

app = create_resolver(rejected_metric="ErpEventRejected")
requests = WebhookRequests(rejected_metric="ErpEventRejected")
KEY_HEADER = "X-Webhook-Key"
# Kept with the inbox record; never the key.
CAPTURED_HEADERS = ("content-type", "user-agent", "x-request-id", "x-forwarded-for")


class ErpIngestSettings(IntakeSettings):
    webhook_keys_secret_name: str
    lane_queue_urls: dict[str, str]  # lane → queue URL
    payload_bucket_name: str  # where data too large for an item is kept (a claim check)
    max_body_bytes: int = 262144
    # A delivery without `occurred_at` repeating the entity's latest one within this is the same.
    dedupe_window_seconds: int = Field(default=3600, ge=1)


def _captured_headers() -> dict[str, str]:
    event = app.current_event
    return {name: value for name in CAPTURED_HEADERS if (value := header(event, name))}


@app.post(
    "/webhooks/zoho/<entity>",
    summary="An ERP entity webhook, authenticated by X-Webhook-Key",
    description="The body (`ErpWebhook`, `data` checked per entity) is read only after the key "
    "is verified.",
    responses={
        **answers(202, HTTPStatus.UNAUTHORIZED, HTTPStatus.NOT_FOUND, HTTPStatus.CONFLICT,
                  HTTPStatus.REQUEST_ENTITY_TOO_LARGE, HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                  HTTPStatus.SERVICE_UNAVAILABLE),
        **answers(200),
    },
    security=[{"erpWebhookKey": []}],
    tags=["webhooks"],
)  # fmt: skip
def receive_entity_webhook(
    entity: Annotated[
        str,
        Path(
            pattern=r"^[a-z][a-z-]{0,31}$",
            description="the entity route; any other is 404 NOT_FOUND",
            examples=list(ROUTES),
        ),
    ],
) -> Response[str]:
    settings = get_settings(ErpIngestSettings)
    route_entity = ROUTES.get(entity)
    if route_entity is None:
        raise ApiError(
            HTTPStatus.NOT_FOUND,
            ErrorCode.NOT_FOUND,
            f"unknown entity {entity!r}: one of {', '.join(ROUTES)}",
        )
    event = app.current_event
    body = requests.raw_body(event, settings.max_body_bytes)
    try:
        keys = get_secret(settings.webhook_keys_secret_name).split()
    except GetParameterError as exc:
        logger.exception("webhook keys unavailable; asking the sender to retry")
        raise unavailable("the webhook cannot be authenticated right now; retry") from exc
    try:
        verify_api_key(header(event, KEY_HEADER), keys)
    except SignatureError as exc:
        raise requests.reject(
            "auth", ApiError(HTTPStatus.UNAUTHORIZED, ErrorCode.AUTH_ERROR, str(exc))
        ) from exc
    document = requests.json_document(event, body)

    received_at = datetime.now(UTC)
    correlation_id = correlation_id_of(event)
    capture = {
        "source_ip": event.request_context.identity.source_ip,
        "headers": _captured_headers(),
        "route_entity": route_entity.value,
    }
    webhook, problems = validate_webhook(route_entity, document)
    reason = "validation"
    if webhook is not None and webhook.occurred_at is not None:
        window = settings.event_time_window
        if problem := implausible(webhook.occurred_at, now=received_at, window=window):
            webhook, problems = None, [FieldError(field="occurred_at", message=problem)]
            reason = "implausible_time"
    if webhook is None:
        _keep_rejected(settings, document, problems, capture, correlation_id)
        raise requests.reject(
            reason,
            ApiError(
                HTTPStatus.BAD_REQUEST,
                ErrorCode.VALIDATION_ERROR,
                f"the {route_entity.value} webhook is invalid",
                details=[p.model_dump() for p in problems],
            ),
        )

    identity = _identify(settings, webhook, received_at)
    key, timestamp = identity.idempotency_key, identity.source_timestamp
    lane = lane_of(webhook.entity_type.value)
    priority = priority_of(webhook.entity_type.value)
    data_ref = _claim_large_data(settings, webhook)
    message = ErpSyncRequested(
        event_id="pending",  # set by the intake from the key
        correlation_id=correlation_id,
        idempotency_key=key,
        entity_type=webhook.entity_type,
        entity_id=webhook.entity_id,
        event_type=webhook.event_type,
        data={} if data_ref else webhook.data,
        data_ref=data_ref,
        source_timestamp=timestamp,
        priority=priority,
    )
    # The inbox record keeps the data itself, or where it is.
    inline = {"data_ref": data_ref.model_dump()} if data_ref else {"data": stored(webhook.data)}
    tracer.put_annotation("pipeline", PIPELINE)
    try:
        result = submit(
            Submission(
                source=SOURCE,
                dedupe_key=key,
                # The key already hashes the content: equal keys mean equal payloads.
                payload_sha256=content_hash([key, webhook.data]),
                correlation_id=correlation_id,
                pipeline=PIPELINE,
                attributes={
                    **capture,
                    "idempotency_key": key,
                    "content_hash": content_hash(webhook.data),
                    "entity_type": webhook.entity_type.value,
                    "entity_id": webhook.entity_id,
                    "event_type": webhook.event_type.value,
                    "priority": priority,
                    "lane": lane.value,
                    "source_timestamp": timestamp.isoformat(),
                    **inline,
                },
                queue_url=settings.lane_queue_urls[lane.value],
                message=message.model_dump(mode="json"),
            ),
            app.lambda_context,
        )
    except KeyReusedError as exc:  # cannot happen: the key includes the content hash
        raise ApiError(HTTPStatus.CONFLICT, ErrorCode.CONFLICT, "key reused") from exc
    logger.append_keys(event_id=result["event_id"], entity_type=webhook.entity_type.value)
    if result["duplicate"]:
        count("ErpEventDuplicate")
        return success(app, result, HTTPStatus.OK)
    count("ErpEventAccepted", entity=webhook.entity_type.value)
    logger.info("ERP webhook accepted", extra={"lane": lane.value, "priority": priority})
    return success(app, {**result, "lane": lane.value}, HTTPStatus.ACCEPTED)


def _identify(settings: ErpIngestSettings, webhook: ErpWebhook, now: datetime) -> DeliveryIdentity:
    """Which delivery this is. Without `occurred_at` it depends on the entity's latest delivery,
    recorded before the event so that the sender's retry of a failed enqueue finds it."""
    window = timedelta(seconds=settings.dedupe_window_seconds)
    if webhook.occurred_at is not None:
        return identify(webhook, None, now=now, window=window)
    entity = (webhook.entity_type.value, webhook.entity_id)
    try:
        for _ in range(3):  # another delivery of this entity may replace the latest meanwhile
            latest = _latest_deliveries().get(*entity)
            identity = identify(webhook, latest, now=now, window=window)
            if identity.new_latest is None or _latest_deliveries().replace(
                *entity, identity.new_latest, previous=latest
            ):
                return identity
    except (BotoCoreError, ClientError) as exc:
        logger.exception("latest delivery unavailable; asking the sender to retry")
        raise unavailable("the webhook could not be recorded; retry the delivery") from exc
    raise ApiError(
        HTTPStatus.CONFLICT,
        ErrorCode.CONFLICT,
        "other deliveries of this entity are being accepted right now; retry shortly",
        headers={"Retry-After": "1"},
    )


def _claim_large_data(settings: ErpIngestSettings, webhook: ErpWebhook) -> ClaimRef | None:
    """Data larger than an item can hold goes to the payload bucket first, under its content
    hash; the inbox record and the queue message then carry the reference."""
    body = canonical_json(webhook.data).encode()
    if len(body) <= INLINE_BYTES:
        return None
    try:
        ref = claim_check.store(settings.payload_bucket_name, large_data_key(webhook.data), body)
    except (BotoCoreError, ClientError) as exc:
        logger.exception("could not store the large data; asking the sender to retry")
        raise unavailable("the webhook could not be recorded; retry the delivery") from exc
    logger.info("data stored as a claim check", extra={"bytes": ref.size, "key": ref.key})
    return ref


@lru_cache(maxsize=1)
def _latest_deliveries() -> LatestDeliveries:
    settings = get_settings(ErpIngestSettings)
    return LatestDeliveries(
        settings.idempotency_table_name, timedelta(seconds=settings.dedupe_window_seconds)
    )


def _keep_rejected(
    settings: ErpIngestSettings,
    document: Any,
    problems: list[FieldError],
    capture: dict[str, Any],
    correlation_id: str,
) -> None:
    """Operators can see what was refused and why; failing to keep it must not hide the 400."""
    try:
        EventStore(settings.events_table_name, settings.event_ttl_days).record_rejected(
            str(uuid.uuid4()),
            {
                **capture,
                # Counted by entity in the ops stats, next to the accepted ones.
                "entity_type": capture["route_entity"],
                "pipeline": PIPELINE,
                "source": SOURCE,
                "correlation_id": correlation_id,
                "body": json.dumps(document)[:20000],
            },
            [p.model_dump() for p in problems],
        )
    except Exception:  # noqa: BLE001 - the sender still gets its 400 with the reasons
        logger.exception("could not keep the rejected webhook in the inbox")


handler = api_handler(app)
