"""The request checks every webhook ingest makes, in the order each one chooses: read the raw
body, bound its size, read the credentials it is checked against, authenticate it, require JSON,
parse it strictly (`shared.strict_json`: no NaN, bounded depth and numbers, no repeated keys).
Each refusal is counted under the pipeline's rejection metric with its reason and logged (never
with the body or credentials)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from shared import strict_json
from shared.api import ApiError, ErrorCode, header, unavailable
from shared.metric_names import Metric
from shared.metrics import count
from shared.observability import logger
from shared.secrets import get_secret
from shared.signatures import SignatureError

T = TypeVar("T")


@dataclass(frozen=True)
class WebhookRequests:
    rejected_metric: Metric  # e.g. WebhookRejected, ErpEventRejected

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

    def credentials(self, secret_name: str, *, unavailable_message: str) -> str:
        """The secret a request is checked against; while Secrets Manager cannot give it, the
        sender is asked to retry (503: nothing was refused)."""
        try:
            return get_secret(secret_name)
        except GetParameterError as exc:
            logger.exception("credentials unavailable; asking the sender to retry")
            raise unavailable(unavailable_message) from exc

    def authenticated(self, check: Callable[[], T], *, reason: str, message: str = "") -> T:
        """What `check` vouches for, or a 401 counted under `reason`: `message` and why."""
        try:
            return check()
        except SignatureError as exc:
            raise self.reject(
                reason,
                ApiError(HTTPStatus.UNAUTHORIZED, ErrorCode.AUTH_ERROR, f"{message}{exc}"),
            ) from exc

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
