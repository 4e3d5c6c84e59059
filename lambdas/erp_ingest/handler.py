"""POST /webhooks/zoho/{entity}: the ERP's entity webhooks, handed to the ERP intake
(`erp.intake`)."""

from __future__ import annotations

import shared.startup

from datetime import timedelta
from functools import lru_cache
from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from erp.entities import ROUTES
from erp.intake import ErpIntake, ErpIntakeSettings, route_entity
from erp.store import LatestDeliveries
from shared.api import answers, api_handler, create_resolver, success
from shared.metric_names import Metric
from shared.settings import get_settings

app = create_resolver(rejected_metric=Metric.ERP_EVENT_REJECTED)
EntityRoute = Annotated[
    str,
    Path(
        pattern=r"^[a-z][a-z-]{0,31}$",
        description="the entity route; any other is 404 NOT_FOUND",
        examples=list(ROUTES),
    ),
]


@lru_cache(maxsize=1)
def _latest_deliveries() -> LatestDeliveries:
    settings = get_settings(ErpIntakeSettings)
    return LatestDeliveries(
        settings.idempotency_table_name, timedelta(seconds=settings.dedupe_window_seconds)
    )


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
def receive_entity_webhook(entity: EntityRoute) -> Response[str]:
    intake = ErpIntake(get_settings(ErpIntakeSettings), _latest_deliveries())
    result = intake.receive(app.current_event, app.lambda_context, route_entity(entity))
    return success(app, result, HTTPStatus.OK if result["duplicate"] else HTTPStatus.ACCEPTED)


handler = api_handler(app)

shared.startup.loaded()  # last: every object of the cold start is built
