"""The HTTP side of every API function: one JSON envelope, error codes and the request id.

Every response is `{"status", "data", "error": {"code", "message", "details"}, "request_id"}` and
echoes `X-Request-ID`. Handlers raise `ApiError`; the resolver built here turns it (and anything
unexpected) into the envelope. Routes are typed: Powertools validates path and query parameters
and typed bodies (`enable_validation`), bodies are parsed with `shared.strict_json`, and a
validation failure is a 400 VALIDATION_ERROR listing every field. The envelope models below are
what the OpenAPI document (`docs/openapi.json`) says each answer looks like.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from enum import StrEnum
from http import HTTPStatus
from typing import Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from shared import aws_errors, strict_json
from shared.metric_names import Metric
from shared.metrics import count
from shared.observability import logger, metrics, tracer

REQUEST_ID_HEADER = "X-Request-ID"
RETRY_AFTER_SECONDS = 5  # what a 503 asks the caller to wait
# The security of the routes other services and operators call: SigV4 (API Gateway's IAM auth).
IAM_AUTH: list[dict[str, list[str]]] = [{"sigv4": []}]
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
# RFC 9110 field values: visible ASCII, spaces and tabs. Anything else is refused before a
# handler sees it (and before it could reach a log line, a signature base string or a reply).
_FIELD_VALUE = re.compile(r"^[\t\x20-\x7e]*$")


class ErrorCode(StrEnum):
    AUTH_ERROR = "AUTH_ERROR"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    INVALID_JSON = "INVALID_JSON"
    INVALID_HEADER = "INVALID_HEADER"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"


class ApiError(Exception):
    def __init__(
        self,
        status: HTTPStatus,
        code: ErrorCode,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}


class ErrorBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(
        description="An ErrorCode of the functions, or the gateway's response type (THROTTLED, "
        "MISSING_AUTHENTICATION_TOKEN, ACCESS_DENIED, ...) for answers API Gateway gives itself"
    )
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorEnvelope(BaseModel):
    """Every refusal and failure."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["failure"]
    data: None
    error: ErrorBody
    request_id: str | None


class SuccessEnvelope(BaseModel):
    """Every success; `data` is the route's answer."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["success"]
    data: Any
    error: None
    request_id: str


def answers(success: int | None, *failures: HTTPStatus) -> dict[int, OpenAPIResponse]:
    """The documented answers of a route: its success and every refusal it can give."""
    documented: dict[int, OpenAPIResponse] = {}
    if success is not None:
        documented[success] = {
            "description": HTTPStatus(success).phrase,
            "content": {"application/json": {"model": SuccessEnvelope}},
        }
    always = (
        HTTPStatus.BAD_REQUEST,
        HTTPStatus.INTERNAL_SERVER_ERROR,
        HTTPStatus.SERVICE_UNAVAILABLE,  # AWS throttled or failed: `_answer_failures`
    )
    for status in (*failures, *always):
        documented[int(status)] = {
            "description": status.phrase,
            "content": {"application/json": {"model": ErrorEnvelope}},
        }
    return documented


def header(event: APIGatewayProxyEvent, name: str) -> str | None:
    """A request header, whatever case the client sent it in."""
    wanted = name.lower()
    return next((v for k, v in (event.headers or {}).items() if k.lower() == wanted), None)


def correlation_id_of(event: APIGatewayProxyEvent) -> str:
    """The caller's X-Request-ID when it is a sane token, else API Gateway's request id."""
    supplied = header(event, REQUEST_ID_HEADER)
    if supplied and _SAFE_REQUEST_ID.match(supplied):
        return supplied
    return event.request_context.request_id or "unknown"


def success(
    app: APIGatewayRestResolver, data: Any, status: HTTPStatus = HTTPStatus.OK
) -> Response[str]:
    return _envelope(app, status, {"status": "success", "data": data, "error": None})


def failure(app: APIGatewayRestResolver, error: ApiError) -> Response[str]:
    body = {
        "status": "failure",
        "data": None,
        "error": {"code": str(error.code), "message": error.message, "details": error.details},
    }
    return _envelope(app, error.status, body, error.headers)


def _envelope(
    app: APIGatewayRestResolver,
    status: HTTPStatus,
    body: dict[str, Any],
    extra_headers: dict[str, str] | None = None,
) -> Response[str]:
    request_id = correlation_id_of(app.current_event)
    return Response(
        status_code=int(status),
        content_type="application/json",
        body=json.dumps({**body, "request_id": request_id}, default=str),
        headers={REQUEST_ID_HEADER: request_id, **(extra_headers or {})},
    )


def unavailable(message: str) -> ApiError:
    """503 with a Retry-After: nothing was accepted, and the caller's retry will be."""
    return ApiError(
        HTTPStatus.SERVICE_UNAVAILABLE,
        ErrorCode.SERVICE_UNAVAILABLE,
        message,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def create_resolver(rejected_metric: Metric | None = None) -> APIGatewayRestResolver:
    """A REST resolver whose every error, expected or not, leaves in the envelope. Requests
    with non-ASCII header values are refused (400 INVALID_HEADER); refusals are counted under
    `rejected_metric`, with their reason, when one is given."""
    app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=strict_json.loads)

    def rejected(reason: str) -> None:
        if rejected_metric:
            count(rejected_metric, reason=reason)

    app.use(middlewares=[_ascii_headers(rejected)])
    _answer_refusals(app, rejected)
    _answer_failures(app)
    return app


def _ascii_headers(
    rejected: Callable[[str], None],
) -> Callable[[APIGatewayRestResolver, NextMiddleware], Response[str]]:
    def middleware(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[str]:
        for name, value in (app.current_event.headers or {}).items():
            if not (_FIELD_VALUE.match(name or "") and _FIELD_VALUE.match(value or "")):
                rejected("invalid_header")
                raise ApiError(
                    HTTPStatus.BAD_REQUEST,
                    ErrorCode.INVALID_HEADER,
                    f"header {name.encode('ascii', 'backslashreplace').decode()!r} is not "
                    "printable ASCII",
                )
        return next_middleware(app)

    return middleware


def _answer_refusals(app: APIGatewayRestResolver, rejected: Callable[[str], None]) -> None:
    """Bad requests: invalid parameters or typed bodies, bodies that are not strict JSON."""

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def _invalid_request(error: RequestValidationError) -> Response[str]:
        details = [
            {
                # ("query", "limit") → "limit": where a client looks for it
                "field": ".".join(str(p) for p in error_["loc"][1:]) or str(error_["loc"][0]),
                "message": error_["msg"],
            }
            for error_ in error.errors()
        ]
        rejected("validation")
        return failure(
            app,
            ApiError(
                HTTPStatus.BAD_REQUEST,
                ErrorCode.VALIDATION_ERROR,
                "the request is invalid",
                details=details,
            ),
        )

    @app.exception_handler(strict_json.StrictJsonError)  # type: ignore[untyped-decorator]
    def _not_strict_json(error: strict_json.StrictJsonError) -> Response[str]:
        rejected(error.reason)
        return failure(app, ApiError(HTTPStatus.BAD_REQUEST, ErrorCode.INVALID_JSON, error.message))


def _answer_failures(app: APIGatewayRestResolver) -> None:
    """Refusals a handler raised, unknown routes, and anything unexpected."""

    @app.exception_handler(ApiError)  # type: ignore[untyped-decorator]
    def _api_error(error: ApiError) -> Response[str]:
        logger.info(
            "request refused",
            extra={"status_code": int(error.status), "error_code": str(error.code)},
        )
        return failure(app, error)

    @app.not_found
    def _not_found(_: NotFoundError) -> Response[str]:
        return failure(app, ApiError(HTTPStatus.NOT_FOUND, ErrorCode.NOT_FOUND, "no such route"))

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _unexpected(error: Exception) -> Response[str]:
        cause = aws_errors.transient_cause(error)
        if cause is not None:
            # Throttled, or AWS's own failure (also under a library's wrapper, as Powertools
            # Idempotency wraps its table's errors): the caller's retry is the remedy.
            logger.exception(
                "AWS did not answer; asking the caller to retry",
                extra={
                    "error_type": type(error).__name__,
                    "aws_error": aws_errors.error_code(cause),
                },
            )
            return failure(app, unavailable("a service this request needs is busy; retry later"))
        logger.exception("unhandled error", extra={"error_type": type(error).__name__})
        return failure(
            app,
            ApiError(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                ErrorCode.INTERNAL_ERROR,
                "internal error; retry later and quote request_id if it persists",
            ),
        )


def api_handler(
    app: APIGatewayRestResolver,
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """The Lambda entry point for a resolver: logs carry the correlation id, traced, metrics."""

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        logger.set_correlation_id(correlation_id_of(APIGatewayProxyEvent(event)))
        return app.resolve(event, context)

    return handler
