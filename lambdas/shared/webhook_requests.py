"""The request checks every webhook ingest makes, in the order each one chooses: read the raw
body, bound its size, require JSON, parse it strictly (`shared.strict_json`: no NaN, bounded
depth and numbers, no repeated keys). Each refusal is counted under the pipeline's rejection
metric with its reason and logged (never with the body or credentials)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from shared import strict_json
from shared.api import ApiError, ErrorCode, header
from shared.metrics import count
from shared.observability import logger


@dataclass(frozen=True)
class WebhookRequests:
    rejected_metric: str  # e.g. WebhookRejected, ErpEventRejected

    def reject(self, reason: str, error: ApiError) -> ApiError:
        count(self.rejected_metric, reason=reason)
        logger.info("webhook rejected", extra={"reason": reason, "error_code": str(error.code)})
        return error

    def raw_body(self, event: APIGatewayProxyEvent, max_bytes: int) -> bytes:
        """The body as sent (signatures are over these bytes), within the size limit."""
        body = event.body or ""
        if event.is_base64_encoded:
            try:
                raw = base64.b64decode(body, validate=True)
            except binascii.Error as exc:
                raise self.reject(
                    "invalid_body",
                    ApiError(
                        HTTPStatus.BAD_REQUEST, ErrorCode.INVALID_JSON, "body is not valid base64"
                    ),
                ) from exc
        else:
            raw = body.encode()
        if len(raw) > max_bytes:
            raise self.reject(
                "too_large",
                ApiError(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    ErrorCode.PAYLOAD_TOO_LARGE,
                    f"body is {len(raw)} bytes; the limit is {max_bytes}",
                ),
            )
        return raw

    def json_document(self, event: APIGatewayProxyEvent, body: bytes) -> Any:
        """A JSON content type (`application/json` or `application/*+json`) and a parseable body."""
        media_type = (header(event, "content-type") or "").split(";", 1)[0].strip().lower()
        if not (
            media_type == "application/json"
            or (media_type.startswith("application/") and media_type.endswith("+json"))
        ):
            raise self.reject(
                "content_type",
                ApiError(
                    HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                    ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                    "Content-Type must be application/json",
                ),
            )
        try:
            return strict_json.loads(body)
        except strict_json.StrictJsonError as exc:
            reason = "malformed_json" if exc.reason == "not_json" else exc.reason
            raise self.reject(
                reason, ApiError(HTTPStatus.BAD_REQUEST, ErrorCode.INVALID_JSON, exc.message)
            ) from exc
