"""The ERP entity webhooks' intake: authenticate the key, validate the body per entity (what is
refused is kept in the inbox, with every reason), tell which delivery it is, keep data too large
for an item as a claim check, then submit it to the shared intake, queued in its entity's
priority lane."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import Field

from erp.entities import ROUTES, EntityType, ErpWebhook, FieldError, validate_webhook
from erp.inbox import DeliveryIdentity, canonical_json, content_hash, identify, large_data_key
from erp.messages import ErpSyncRequested
from erp.priority import Lane, lane_of, priority_of
from erp.store import LatestDeliveries
from shared import claim_check
from shared.api import ApiError, ErrorCode, correlation_id_of, header, unavailable
from shared.claim_check import INLINE_BYTES, ClaimRef
from shared.dynamo import as_sent, stored
from shared.event_recorder import EventRecorder
from shared.event_time import implausible
from shared.intake import IntakeSettings, Outcomes, Submission, submit
from shared.metric_names import Metric
from shared.observability import logger, tracer
from shared.signatures import verify_api_key
from shared.sources import Pipeline, Source
from shared.webhook_requests import WebhookRequests

REQUESTS = WebhookRequests(rejected_metric=Metric.ERP_EVENT_REJECTED)
KEY_HEADER = "X-Webhook-Key"
# Kept with the inbox record; never the key.
CAPTURED_HEADERS = ("content-type", "user-agent", "x-request-id", "x-forwarded-for")


class ErpIntakeSettings(IntakeSettings):
    idempotency_table_name: str  # where each entity's latest delivery without a timestamp is
    webhook_keys_secret_name: str
    lane_queue_urls: dict[str, str]  # lane → queue URL
    payload_bucket_name: str  # where data too large for an item is kept (a claim check)
    # A delivery without `occurred_at` repeating the entity's latest one within this is the same.
    dedupe_window_seconds: int = Field(ge=1)


def route_entity(segment: str) -> EntityType:
    """The entity of `POST /webhooks/zoho/{segment}`; any other segment is 404."""
    entity = ROUTES.get(segment)
    if entity is None:
        raise ApiError(
            HTTPStatus.NOT_FOUND,
            ErrorCode.NOT_FOUND,
            f"unknown entity {segment!r}: one of {', '.join(ROUTES)}",
        )
    return entity


@dataclass(frozen=True)
class _Request:
    """One authenticated delivery, as read."""

    entity: EntityType
    document: Any
    received_at: datetime
    correlation_id: str
    capture: dict[str, Any]  # what the inbox record keeps of the request itself


@dataclass(frozen=True)
class ErpIntake:
    settings: ErpIntakeSettings
    latest: LatestDeliveries

    def receive(
        self, event: APIGatewayProxyEvent, lambda_context: Any, entity: EntityType
    ) -> dict[str, Any]:
        """The intake's answer for one delivery (`duplicate` tells a repeat; a first one also
        names its lane), or an `ApiError`."""
        request = self._authenticated(event, entity)
        webhook = self._valid(request)
        identity = self._identify(webhook, request.received_at)
        data_ref = self._claim_large_data(webhook)
        lane = lane_of(webhook.entity_type.value)
        logger.append_keys(
            entity_type=webhook.entity_type.value,
            lane=lane.value,
            priority=priority_of(webhook.entity_type.value),
        )
        tracer.put_annotation("pipeline", Pipeline.ERP_ENTITY_SYNC.value)
        outcomes = Outcomes(
            accepted=Metric.ERP_EVENT_ACCEPTED,
            duplicate=Metric.ERP_EVENT_DUPLICATE,
            # Cannot happen: the key includes the content hash.
            key_reused=lambda: ApiError(HTTPStatus.CONFLICT, ErrorCode.CONFLICT, "key reused"),
            accepted_dimensions={"entity": webhook.entity_type.value},
        )
        submission = self._submission(request, webhook, identity, data_ref, lane)
        result = submit(submission, lambda_context, outcomes)
        return result if result["duplicate"] else {**result, "lane": lane.value}

    def _authenticated(self, event: APIGatewayProxyEvent, entity: EntityType) -> _Request:
        body = REQUESTS.raw_body(event, self.settings.max_body_bytes)
        keys = REQUESTS.credentials(
            self.settings.webhook_keys_secret_name,
            unavailable_message="the webhook cannot be authenticated right now; retry",
        ).split()
        REQUESTS.authenticated(
            lambda: verify_api_key(header(event, KEY_HEADER), keys), reason="auth"
        )
        document = REQUESTS.json_document(event, body)
        captured = {name: value for name in CAPTURED_HEADERS if (value := header(event, name))}
        return _Request(
            entity=entity,
            document=document,
            received_at=datetime.now(UTC),
            correlation_id=correlation_id_of(event),
            capture={
                "source_ip": event.request_context.identity.source_ip,
                "headers": captured,
                "route_entity": entity.value,
            },
        )

    def _valid(self, request: _Request) -> ErpWebhook:
        """The webhook, or a 400 listing every problem (its own time included); a refused
        delivery is kept in the inbox first."""
        webhook, problems = validate_webhook(request.entity, request.document)
        reason = "validation"
        if webhook is not None and webhook.occurred_at is not None:
            window = self.settings.event_time_window
            if problem := implausible(webhook.occurred_at, now=request.received_at, window=window):
                webhook, problems = None, [FieldError(field="occurred_at", message=problem)]
                reason = "implausible_time"
        if webhook is not None:
            return webhook
        self._keep_rejected(request, problems)
        raise REQUESTS.reject(
            reason,
            ApiError(
                HTTPStatus.BAD_REQUEST,
                ErrorCode.VALIDATION_ERROR,
                f"the {request.entity.value} webhook is invalid",
                details=[p.model_dump() for p in problems],
            ),
        )

    def _keep_rejected(self, request: _Request, problems: list[FieldError]) -> None:
        """Operators can see what was refused and why; failing to keep it must not hide the 400."""
        settings = self.settings
        try:
            EventRecorder(settings.events_table_name, settings.event_ttl_days).record_rejected(
                str(uuid.uuid4()),
                {
                    **request.capture,
                    # Counted by entity in the ops stats, next to the accepted ones.
                    "entity_type": request.entity.value,
                    "pipeline": Pipeline.ERP_ENTITY_SYNC.value,
                    "source": Source.ERP.value,
                    "correlation_id": request.correlation_id,
                    "body": json.dumps(request.document)[:20000],
                },
                [p.model_dump() for p in problems],
            )
        except Exception:  # noqa: BLE001 - the sender still gets its 400 with the reasons
            logger.exception("could not keep the rejected webhook in the inbox")

    def _identify(self, webhook: ErpWebhook, now: datetime) -> DeliveryIdentity:
        """Which delivery this is. Without `occurred_at` it depends on the entity's latest
        delivery, recorded before the event so that the sender's retry of a failed enqueue
        finds it."""
        window = timedelta(seconds=self.settings.dedupe_window_seconds)
        if webhook.occurred_at is not None:
            return identify(webhook, None, now=now, window=window)
        entity = (webhook.entity_type.value, webhook.entity_id)
        try:
            for _ in range(3):  # another delivery of this entity may replace the latest meanwhile
                latest = self.latest.get(*entity)
                identity = identify(webhook, latest, now=now, window=window)
                if identity.new_latest is None or self.latest.replace(
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

    def _claim_large_data(self, webhook: ErpWebhook) -> ClaimRef | None:
        """Data larger than an item can hold goes to the payload bucket first, under its
        content hash; the inbox record and the queue message then carry the reference."""
        body = canonical_json(webhook.data).encode()
        if len(body) <= INLINE_BYTES:
            return None
        bucket = self.settings.payload_bucket_name
        try:
            ref = claim_check.store(bucket, large_data_key(webhook.data), body)
        except (BotoCoreError, ClientError) as exc:
            logger.exception("could not store the large data; asking the sender to retry")
            raise unavailable("the webhook could not be recorded; retry the delivery") from exc
        logger.info("data stored as a claim check", extra={"bytes": ref.size, "key": ref.key})
        return ref

    def _submission(
        self,
        request: _Request,
        webhook: ErpWebhook,
        identity: DeliveryIdentity,
        data_ref: ClaimRef | None,
        lane: Lane,
    ) -> Submission:
        key, timestamp = identity.idempotency_key, identity.source_timestamp
        priority = priority_of(webhook.entity_type.value)
        message = ErpSyncRequested(
            event_id="pending",  # set by the intake from the key
            correlation_id=request.correlation_id,
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
        return Submission(
            source=Source.ERP.value,
            dedupe_key=key,
            # The key already hashes the content: equal keys mean equal payloads.
            payload_sha256=content_hash([key, webhook.data]),
            correlation_id=request.correlation_id,
            pipeline=Pipeline.ERP_ENTITY_SYNC.value,
            attributes={
                **request.capture,
                "idempotency_key": key,
                "content_hash": content_hash(webhook.data),
                "entity_type": webhook.entity_type.value,
                "entity_id": webhook.entity_id,
                "event_type": webhook.event_type.value,
                "priority": priority,
                "lane": lane.value,
                "source_timestamp": as_sent(timestamp),
                **inline,
            },
            queue_url=self.settings.lane_queue_urls[lane.value],
            message=message.model_dump(mode="json"),
        )
