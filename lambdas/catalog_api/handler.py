"""Catalog enrichment API (IAM-authorized, called by other services):
POST and GET /catalogs/{catalog_id}/enrichments, GET /users/{user_id}/enrichments."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyValidationError,
)
from botocore.exceptions import BotoCoreError, ClientError

from catalog.enrichments import Enrichments, QueueingError
from catalog.requests import EnrichmentRequest, validate_request
from catalog.status import progress
from catalog.store import CatalogBusyError, EnrichmentStore, WritesIncompleteError
from shared import aws_clients
from shared.api import (
    ApiError,
    ErrorCode,
    answers,
    api_handler,
    create_resolver,
    header,
    success,
)
from shared.event_store import InvalidCursorError, plain
from shared.intake import unavailable
from shared.metrics import count
from shared.observability import logger
from shared.paging import DEFAULT_PAGE, PageCursor, PageLimit
from shared.settings import FunctionSettings, get_settings
from shared.webhook_requests import WebhookRequests

app = create_resolver(rejected_metric="EnrichmentRequestRejected")
requests = WebhookRequests(rejected_metric="EnrichmentRequestRejected")
ID_PATTERN = r"^[A-Za-z0-9._@:\-]{1,128}$"
_ID = re.compile(ID_PATTERN)
_IAM: list[dict[str, list[str]]] = [{"sigv4": []}]
CatalogId = Annotated[
    str, Path(pattern=ID_PATTERN, description="the catalog's id", examples=["catalog-42"])
]
MAX_DETAILS = 200

IDEMPOTENCY = IdempotencyConfig(
    event_key_jmespath="[catalog_id, idempotency_key]",
    payload_validation_jmespath="payload_sha256",
    expires_after_seconds=24 * 3600,
)


class CatalogApiSettings(FunctionSettings):
    enrichment_table_name: str
    idempotency_table_name: str
    enrichment_queue_url: str
    default_batch_size: int = 20
    catalog_max_body_bytes: int = 6 * 1024 * 1024  # Lambda's synchronous payload limit


@lru_cache(maxsize=1)
def _enrichments() -> Enrichments:
    settings = get_settings(CatalogApiSettings)
    return Enrichments(
        store=EnrichmentStore(settings.enrichment_table_name),
        sqs=aws_clients.sqs(),
        queue_url=settings.enrichment_queue_url,
        default_batch_size=settings.default_batch_size,
    )


@lru_cache(maxsize=1)
def _persistence() -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(
        table_name=get_settings(CatalogApiSettings).idempotency_table_name,
        boto3_client=aws_clients.dynamodb_client(),
    )


def _identifier(name: str, value: str) -> str:
    if not _ID.match(value):
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            ErrorCode.VALIDATION_ERROR,
            f"{name}: 1 to 128 letters, digits or . _ @ : -",
            details=[{"field": name, "message": "invalid identifier"}],
        )
    return value


@app.post(
    "/catalogs/<catalog_id>/enrichments",
    summary="Enrich a catalog's products (1 to 10,000), in batches, with progress",
    responses=answers(
        202,
        HTTPStatus.CONFLICT,
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        HTTPStatus.SERVICE_UNAVAILABLE,
    ),
    security=_IAM,
    tags=["catalog enrichment"],
)
def start_enrichment(catalog_id: CatalogId) -> Response[str]:
    # The body is read here, not by the resolver: every offending product is listed at once.
    settings = get_settings(CatalogApiSettings)
    event = app.current_event
    body = requests.raw_body(event, settings.catalog_max_body_bytes)
    document = requests.json_document(event, body)
    request, problems = validate_request(document)
    if request is None:
        details = [p.model_dump(exclude_none=True) for p in problems]
        raise requests.reject(
            "validation",
            ApiError(
                HTTPStatus.BAD_REQUEST,
                ErrorCode.VALIDATION_ERROR,
                f"the enrichment request is invalid: {len(problems)} problems"
                + (f" (the first {MAX_DETAILS} are listed)" if len(problems) > MAX_DETAILS else ""),
                details=details[:MAX_DETAILS],
            ),
        )
    key = header(event, "Idempotency-Key")
    if key is not None:
        key = _identifier("Idempotency-Key", key)
    try:
        if key is None:
            answer = _enrichments().start(catalog_id, request, None)
        else:
            answer = _start_once(catalog_id, request, key, hashlib.sha256(body).hexdigest())
    except CatalogBusyError as exc:
        raise ApiError(
            HTTPStatus.CONFLICT,
            ErrorCode.CONFLICT,
            f"catalog {catalog_id} is being enriched: tracking id {exc.tracking_id}",
            details=[{"field": "catalog_id", "message": "running", "tracking_id": exc.tracking_id}],
        ) from exc
    except QueueingError as exc:
        logger.error(
            "enrichment not fully queued",
            extra={"tracking_id": exc.tracking_id, "unsent": exc.unsent},
        )
        raise unavailable(
            "the enrichment could not be queued; retry with the same Idempotency-Key to finish it"
            if exc.resumable
            else "the enrichment could not be queued and was cancelled; retry"
        ) from exc
    except (BotoCoreError, ClientError, WritesIncompleteError) as exc:
        logger.exception("enrichment not started")
        raise unavailable("the enrichment could not be started; retry") from exc
    count("EnrichmentRequested")
    logger.info("enrichment started", extra=answer)
    return success(app, answer, HTTPStatus.ACCEPTED)


def _start_once(
    catalog_id: str, request: EnrichmentRequest, key: str, payload_sha256: str
) -> dict[str, Any]:
    """The same key returns the same answer and queues nothing new (Powertools Idempotency)."""
    IDEMPOTENCY.register_lambda_context(app.lambda_context)

    def start_enrichment_once(job: dict[str, str]) -> dict[str, Any]:
        return _enrichments().start(job["catalog_id"], request, job["idempotency_key"])

    start: Any = idempotent_function(
        data_keyword_argument="job", config=IDEMPOTENCY, persistence_store=_persistence()
    )(start_enrichment_once)
    job = {"catalog_id": catalog_id, "idempotency_key": key, "payload_sha256": payload_sha256}
    try:
        return dict(start(job=job))
    except (IdempotencyAlreadyInProgressError, IdempotencyInconsistentStateError) as exc:
        raise ApiError(
            HTTPStatus.CONFLICT,
            ErrorCode.CONFLICT,
            "a request with this Idempotency-Key is in progress; retry shortly",
            headers={"Retry-After": "2"},
        ) from exc
    except IdempotencyValidationError as exc:
        raise ApiError(
            HTTPStatus.CONFLICT,
            ErrorCode.CONFLICT,
            "this Idempotency-Key was used with a different request body",
        ) from exc


@app.get(
    "/catalogs/<catalog_id>/enrichments",
    summary="The latest (or that) enrichment's progress",
    responses=answers(200, HTTPStatus.NOT_FOUND),
    security=_IAM,
    tags=["catalog enrichment"],
)
def enrichment_progress(
    catalog_id: CatalogId,
    tracking_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
) -> Response[str]:
    store = _enrichments().store
    if not tracking_id:
        latest = store.latest(catalog_id)
        tracking_id = str(latest["tracking_id"]) if latest else None
    summary = store.summary(catalog_id, tracking_id) if tracking_id else None
    if summary is None:
        raise ApiError(
            HTTPStatus.NOT_FOUND, ErrorCode.NOT_FOUND, f"no enrichment of catalog {catalog_id}"
        )
    return success(app, progress(plain(summary)))


@app.get(
    "/users/<user_id>/enrichments",
    summary="A user's enrichments, newest first, a page at a time",
    responses=answers(200),
    security=_IAM,
    tags=["catalog enrichment"],
)
def user_enrichments(
    user_id: Annotated[str, Path(pattern=ID_PATTERN, examples=["user-7"])],
    limit: PageLimit = DEFAULT_PAGE,
    cursor: PageCursor = None,
) -> Response[str]:
    try:
        items, next_cursor = _enrichments().store.for_user(user_id, limit, cursor)
    except InvalidCursorError as exc:
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            ErrorCode.VALIDATION_ERROR,
            f"cursor: {exc}",
            details=[{"field": "cursor", "message": str(exc)}],
        ) from exc
    enrichments = [
        {k: v for k, v in progress(plain(item)).items() if k != "failed_products"} for item in items
    ]
    return success(app, {"enrichments": enrichments, "next_cursor": next_cursor})


handler = api_handler(app)
