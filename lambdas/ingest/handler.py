"""POST /webhooks/qualia: verify, validate, de-duplicate, record, queue, answer fast."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
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
    api_handler,
    correlation_id_of,
    create_resolver,
    header,
    success,
)
from shared.intake import KeyReusedError, submit, unavailable
from shared.metrics import count
from shared.observability import logger, tracer
from shared.secrets import get_secret
from shared.settings import get_settings
from shared.signatures import SignatureError, parse_secrets, verify_signature

app = create_resolver()


def _reject(reason: str, error: ApiError) -> ApiError:
    count("WebhookRejected", reason=reason)
    logger.info("webhook rejected", extra={"reason": reason, "error_code": str(error.code)})
    return error


def _raw_body() -> bytes:
    event = app.current_event
    body = event.body or ""
    if event.is_base64_encoded:
        try:
            return base64.b64decode(body, validate=True)
        except binascii.Error as exc:
            raise _reject(
                "invalid_body",
                ApiError(
                    HTTPStatus.BAD_REQUEST, ErrorCode.INVALID_JSON, "body is not valid base64"
                ),
            ) from exc
    return body.encode()


def _is_json(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _validation_details(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"]}
        for err in exc.errors()
    ]


@app.post("/webhooks/qualia")
def receive_order_webhook() -> Response[str]:
    settings = get_settings(IngestSettings)
    event = app.current_event
    body = _raw_body()
    if len(body) > settings.max_body_bytes:
        raise _reject(
            "too_large",
            ApiError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                ErrorCode.PAYLOAD_TOO_LARGE,
                f"body is {len(body)} bytes; the limit is {settings.max_body_bytes}",
            ),
        )
    try:
        secrets = parse_secrets(get_secret(settings.webhook_secret_name))
    except GetParameterError as exc:
        logger.exception("signing secret unavailable; asking the sender to retry")
        raise unavailable("the webhook cannot be verified right now; retry the delivery") from exc
    try:
        verify_signature(body, event.headers, secrets)
    except SignatureError as exc:
        raise _reject(
            "signature",
            ApiError(HTTPStatus.UNAUTHORIZED, ErrorCode.AUTH_ERROR, f"signature rejected: {exc}"),
        ) from exc
    if not _is_json(header(event, "content-type")):
        raise _reject(
            "content_type",
            ApiError(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                "Content-Type must be application/json",
            ),
        )
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _reject(
            "malformed_json",
            ApiError(HTTPStatus.BAD_REQUEST, ErrorCode.INVALID_JSON, "body is not valid JSON"),
        ) from exc
    try:
        order = OrderWebhook.model_validate(document)
    except ValidationError as exc:
        raise _reject(
            "validation",
            ApiError(
                HTTPStatus.BAD_REQUEST,
                ErrorCode.VALIDATION_ERROR,
                "the webhook body is invalid",
                details=_validation_details(exc),
            ),
        ) from exc

    webhook_id = header(event, "webhook-id") or ""
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
        raise _reject(
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
