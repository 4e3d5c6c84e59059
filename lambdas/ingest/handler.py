"""POST /webhooks/qualia: the order webhook, handed to the order intake (`orders.intake`)."""

from __future__ import annotations

import shared.startup

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response

from orders import intake
from shared.api import answers, api_handler, create_resolver, success
from shared.metric_names import Metric
from shared.settings import get_settings

app = create_resolver(rejected_metric=Metric.WEBHOOK_REJECTED)


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
    settings = get_settings(intake.OrderIntakeSettings)
    result = intake.receive(app.current_event, app.lambda_context, settings)
    return success(app, result, HTTPStatus.OK if result["duplicate"] else HTTPStatus.ACCEPTED)


handler = api_handler(app)

shared.startup.loaded()  # last: every object of the cold start is built
