"""Catalog enrichment API (IAM-authorized, called by other services):
POST and GET /catalogs/{catalog_id}/enrichments, GET /users/{user_id}/enrichments. Starting an
enrichment is the catalog intake's (`catalog.intake`); progress is read from the status table."""

from __future__ import annotations

import shared.startup

from functools import lru_cache
from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from catalog.intake import ID_PATTERN, CatalogIntakeSettings, EnrichmentIntake
from catalog.queueing import Enrichments
from catalog.status import progress
from catalog.store import EnrichmentStore
from shared import aws_clients
from shared.api import (
    IAM_AUTH,
    ApiError,
    ErrorCode,
    answers,
    api_handler,
    create_resolver,
    success,
)
from shared.dynamo import plain
from shared.metric_names import Metric
from shared.page_params import PageCursor, PageLimit
from shared.paging import DEFAULT_PAGE, InvalidCursorError
from shared.settings import get_settings

app = create_resolver(rejected_metric=Metric.ENRICHMENT_REQUEST_REJECTED)
_TAGS = ["catalog enrichment"]
CatalogId = Annotated[
    str, Path(pattern=ID_PATTERN, description="the catalog's id", examples=["catalog-42"])
]
TrackingId = Annotated[str | None, Query(pattern=ID_PATTERN)]
UserId = Annotated[str, Path(pattern=ID_PATTERN, examples=["user-7"])]


@lru_cache(maxsize=1)
def _enrichments() -> Enrichments:
    settings = get_settings(CatalogIntakeSettings)
    return Enrichments(
        store=EnrichmentStore(settings.enrichment_table_name),
        sqs=aws_clients.sqs(),
        queue_url=settings.enrichment_queue_url,
        default_batch_size=settings.default_batch_size,
    )


@lru_cache(maxsize=1)
def _persistence() -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(
        table_name=get_settings(CatalogIntakeSettings).idempotency_table_name,
        boto3_client=aws_clients.dynamodb_client(),
    )


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
    security=IAM_AUTH,
    tags=_TAGS,
)
def start_enrichment(catalog_id: CatalogId) -> Response[str]:
    intake = EnrichmentIntake(get_settings(CatalogIntakeSettings), _enrichments(), _persistence())
    answer = intake.receive(app.current_event, app.lambda_context, catalog_id)
    return success(app, answer, HTTPStatus.ACCEPTED)


@app.get(
    "/catalogs/<catalog_id>/enrichments",
    summary="The latest (or that) enrichment's progress",
    responses=answers(200, HTTPStatus.NOT_FOUND),
    security=IAM_AUTH,
    tags=_TAGS,
)
def enrichment_progress(catalog_id: CatalogId, tracking_id: TrackingId = None) -> Response[str]:
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
    security=IAM_AUTH,
    tags=_TAGS,
)
def user_enrichments(
    user_id: UserId, limit: PageLimit = DEFAULT_PAGE, cursor: PageCursor = None
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

shared.startup.loaded()  # last: every object of the cold start is built
