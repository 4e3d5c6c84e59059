"""POST /webhooks/qualia: verify, validate, de-duplicate, record, queue, answer fast."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from pydantic import ValidationError

from ingest.intake import Delivery, IngestSettings, submission
from orders.messages import PIPELINE
from orders.webhook import OrderWebhook
from shared.api import (
    ApiError,
    ErrorCode,
    answers,
    api_handler,
    correlation_id_of,
    create_resolver,
    success,
)
from shared.event_time import implausible
from shared.intake import KeyReusedError, submit, unavailable
from shared.metrics import count
from shared.observability import logger, tracer
from shared.secrets import get_secret
from shared.settings import get_settings
from shared.signatures import SignatureError, parse_secrets, verify_signature
from shared.webhook_requests import WebhookRequests

app = create_resolver(rejected_metric="WebhookRejected")
requests = WebhookRequests(rejected_metric="WebhookRejected")


def _validation_details(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"]}
        for err in exc.errors()
    ]


@app.post(
    "/webhooks/qualia",
    summary="A marketplace order webhook, Standard Webhooks-signed",
    description="The body (`OrderWebhook`) is read only after its signature is verified.",
    responses={
        **answers(202, HTTPStatus.UNAUTHORIZED, HTTPStatus.CONFLICT,
                  HTTPStatus.REQUEST_ENTITY_TOO_LARGE, HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                  HTTPStatus.SERVICE_UNAVAILABLE),
        **answers(200),
    },
    security=[{"webhookSignature": []}],
    tags=["webhooks"],
)  # fmt: skip
def receive_order_webhook() -> Response[str]:
    settings = get_settings(IngestSettings)
    event = app.current_event
    body = requests.raw_body(event, settings.max_body_bytes)
    try:
        secrets = parse_secrets(get_secret(settings.webhook_secret_name))
    except GetParameterError as exc:
        logger.exception("signing secret unavailable; asking the sender to retry")
        raise unavailable("the webhook cannot be verified right now; retry the delivery") from exc
    try:
        verified = verify_signature(body, event.headers, secrets)
    except SignatureError as exc:
        raise requests.reject(
            "signature",
            ApiError(HTTPStatus.UNAUTHORIZED, ErrorCode.AUTH_ERROR, f"signature rejected: {exc}"),
        ) from exc
    document = requests.json_document(event, body)
    try:
        order = OrderWebhook.model_validate(document)
    except ValidationError as exc:
        raise requests.reject(
            "validation",
            ApiError(
                HTTPStatus.BAD_REQUEST,
                ErrorCode.VALIDATION_ERROR,
                "the webhook body is invalid",
                details=_validation_details(exc),
            ),
        ) from exc

    if problem := implausible(
        order.timestamp, now=datetime.now(UTC), window=settings.event_time_window
    ):
        raise requests.reject(
            "implausible_time",
            ApiError(
                HTTPStatus.BAD_REQUEST,
                ErrorCode.VALIDATION_ERROR,
                "the webhook body is invalid",
                details=[{"field": "timestamp", "message": problem}],
            ),
        )

    webhook_id = verified.message_id
    correlation_id = correlation_id_of(event)
    logger.append_keys(webhook_id=webhook_id, order_id=order.order_id)
    tracer.put_annotation("pipeline", PIPELINE)
    delivery = Delivery(
        webhook_id=webhook_id,
        body_sha256=hashlib.sha256(body).hexdigest(),
        correlation_id=correlation_id,
        order=order,
    )
    try:
        result = submit(submission(delivery, settings), app.lambda_context)
    except KeyReusedError as exc:
        raise requests.reject(
            "webhook_id_reused",
            ApiError(
                HTTPStatus.CONFLICT,
                ErrorCode.CONFLICT,
                "this webhook-id was already delivered with a different body",
            ),
        ) from exc

    logger.append_keys(event_id=result["event_id"])
    tracer.put_annotation("event_id", result["event_id"])
    if result["duplicate"]:
        count("WebhookDuplicate")
        logger.info("duplicate delivery", extra={"status": result["status"]})
        return success(app, result, HTTPStatus.OK)
    count("WebhookAccepted")
    logger.info("webhook accepted")
    return success(app, result, HTTPStatus.ACCEPTED)


handler = api_handler(app)
