"""What POST /webhooks/qualia refuses on moto, in the envelope, recording and queuing nothing:
bad or stale signatures (a body signed with the previous secret still passes), invalid or
malformed bodies, other media types, bodies over the limit, unknown routes."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from tests.support.flows import post_webhook, queued_downloads
from tests.support.lambda_events import FakeLambdaContext, api_event, response_json
from tests.support.pipeline import Pipeline, cold_start
from tests.support.signing import (
    new_secret,
    order_webhook_body,
    signed_headers,
)


def test_signature_rotation_accepts_a_body_signed_with_the_previous_secret(
    pipeline: Pipeline,
) -> None:
    # Given the secret holds the new key first and the old one second
    old = pipeline.signing_secret
    new = new_secret()
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
        SecretId=pipeline.resources.signing_secret_name, SecretString=f"{new} {old}"
    )
    cold_start()
    body = order_webhook_body()
    assert post_webhook(body, signed_headers(body, old))["statusCode"] == 202
    body2 = order_webhook_body("QO-200002")
    assert post_webhook(body2, signed_headers(body2, new))["statusCode"] == 202


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda h, b: ({**h, "webhook-signature": "v1,AAAA"}, b), id="wrong-signature"),
        pytest.param(lambda h, b: (h, b.replace(b"QO-", b"QO-9")), id="tampered-body"),
        pytest.param(
            lambda h, b: ({k: v for k, v in h.items() if k != "webhook-id"}, b), id="no-id"
        ),
        pytest.param(
            lambda h, b: ({k: v for k, v in h.items() if k != "webhook-signature"}, b),
            id="no-signature",
        ),
        pytest.param(lambda h, b: ({**h, "webhook-signature": "garbage"}, b), id="malformed"),
    ],
)
def test_bad_signatures_are_401_auth_error_and_nothing_is_recorded(
    pipeline: Pipeline, mutate: Any
) -> None:
    body = order_webhook_body()
    headers, sent = mutate(signed_headers(body, pipeline.signing_secret), body)
    response = post_webhook(sent, headers)
    assert response["statusCode"] == 401
    assert response_json(response)["error"]["code"] == "AUTH_ERROR"
    assert response_json(response)["status"] == "failure"
    assert queued_downloads(pipeline) == []


def test_stale_signature_is_401(pipeline: Pipeline) -> None:
    body = order_webhook_body()
    stale = datetime.now(UTC) - timedelta(minutes=6)
    response = post_webhook(body, signed_headers(body, pipeline.signing_secret, at=stale))
    assert response["statusCode"] == 401
    assert "too old" in response_json(response)["error"]["message"]


def test_invalid_body_is_400_listing_every_field(pipeline: Pipeline) -> None:
    body = json.dumps(
        {"order_id": "QO-12", "event_type": "order.shipped", "timestamp": "2026-11-20T10:00:00"}
    ).encode()
    response = post_webhook(body, signed_headers(body, pipeline.signing_secret))
    assert response["statusCode"] == 400
    error = response_json(response)["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert sorted(d["field"] for d in error["details"]) == ["event_type", "order_id", "timestamp"]
    assert queued_downloads(pipeline) == []


def test_missing_fields_are_each_listed(pipeline: Pipeline) -> None:
    body = b"{}"
    response = post_webhook(body, signed_headers(body, pipeline.signing_secret))
    fields = sorted(d["field"] for d in response_json(response)["error"]["details"])
    assert fields == ["event_type", "order_id", "timestamp"]


def test_malformed_json_is_400(pipeline: Pipeline) -> None:
    body = b'{"order_id": "QO-123456",'
    response = post_webhook(body, signed_headers(body, pipeline.signing_secret))
    assert response["statusCode"] == 400
    assert response_json(response)["error"]["code"] == "INVALID_JSON"


def test_non_json_content_type_is_415(pipeline: Pipeline) -> None:
    body = order_webhook_body()
    headers = {**signed_headers(body, pipeline.signing_secret), "Content-Type": "text/plain"}
    response = post_webhook(body, headers)
    assert response["statusCode"] == 415
    assert response_json(response)["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_body_over_the_limit_is_413(pipeline: Pipeline) -> None:
    limit = int(os.environ["MAX_BODY_BYTES"])  # as the template configures the function
    body = order_webhook_body(padding="x" * limit)
    response = post_webhook(body, signed_headers(body, pipeline.signing_secret))
    assert response["statusCode"] == 413
    assert response_json(response)["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_unknown_route_is_404_in_the_envelope(pipeline: Pipeline) -> None:
    from ingest.handler import handler

    response = handler(api_event("GET", "/nope", headers={}), FakeLambdaContext())
    assert response["statusCode"] == 404
    assert response_json(response)["error"]["code"] == "NOT_FOUND"
