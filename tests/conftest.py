"""Shared fixtures: offline AWS (moto) with the pipeline's resources, local HTTP peers."""

from __future__ import annotations

import io
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

# Before anything imports boto3 or Powertools: no real account, no tracing, fixed names.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "webhook-pipeline-tests",
        "POWERTOOLS_METRICS_NAMESPACE": "WebhookPipeline/test",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from local.http_stub import RecordedRequest, StubResponse, StubServer
from local.moto_extensions import apply as extend_moto
from local.provider_api import ProductDataApi
from tests.support.aws import PROVIDER_KEY, Resources, create_resources, function_environment
from tests.support.orders import marketplace_order
from tests.support.signing import new_secret

extend_moto()  # SQS message move tasks (native DLQ redrive), which moto lacks
MARKETPLACE_TOKEN = "mkt-token-for-tests"  # a test value, not a real secret


def cold_start() -> None:
    """Forget every per-container cache, as a new Lambda execution environment would."""
    from catalog_api import handler as catalog_handler
    from download_worker import handler as download_handler
    from enrichment_worker import handler as enrichment_handler
    from erp_ingest import handler as erp_ingest_handler
    from erp_sync_worker import handler as erp_sync_handler
    from ops_api import handler as events_handler
    from ops_api import operations as ops_operations
    from processing_worker import handler as processing_handler
    from shared import aws_clients, intake, secrets
    from shared.settings import get_settings

    get_settings.cache_clear()
    aws_clients.reset()
    secrets.reset()
    intake.idempotent_accept.cache_clear()
    download_handler._deps.cache_clear()
    erp_ingest_handler._latest_deliveries.cache_clear()
    erp_sync_handler._deps.cache_clear()
    enrichment_handler._deps.cache_clear()
    catalog_handler._enrichments.cache_clear()
    catalog_handler._persistence.cache_clear()
    processing_handler._deps.cache_clear()
    events_handler._events.cache_clear()
    ops_operations._health_clients.cache_clear()


@dataclass
class Pipeline:
    resources: Resources
    signing_secret: str
    marketplace: StubServer
    internal_api: StubServer
    provider: ProductDataApi


def _serve_orders(request: RecordedRequest) -> StubResponse:
    if request.headers.get("Authorization") != f"Bearer {MARKETPLACE_TOKEN}":
        return StubResponse(401, {"error": "unauthorized"})
    order_id = request.path.rsplit("/", 1)[-1]
    return StubResponse(200, marketplace_order(order_id))


def _accept_order(request: RecordedRequest) -> StubResponse:
    key = request.headers.get("Idempotency-Key", "")
    return StubResponse(201, {"id": f"INT-{key[:8]}"})


def _serialise_dynamodb_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies each conditional write atomically; moto's in-process backend checks the
    condition and writes without a lock, so two threads can both pass. Give it the guarantee."""
    lock = threading.RLock()
    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        original = getattr(DynamoDBBackend, name)

        def atomic(*args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return __original(*args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, atomic)


@pytest.fixture
def pipeline(monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    """moto with the pipeline's resources, stub marketplace and internal APIs, env vars set."""
    _serialise_dynamodb_writes(monkeypatch)
    signing_secret = new_secret()
    with (
        mock_aws(),
        StubServer() as marketplace,
        StubServer() as internal_api,
        ProductDataApi(PROVIDER_KEY) as provider,
    ):
        resources = create_resources(signing_secret, MARKETPLACE_TOKEN)
        marketplace.route("GET", r"/orders/QO-\d+", _serve_orders)
        internal_api.route("POST", r"/orders", _accept_order)
        environment = function_environment(
            resources,
            marketplace_url=marketplace.url,
            internal_url=internal_api.url,
            provider_url=provider.url,
        )
        for key, value in environment.items():
            monkeypatch.setenv(key, value)
        cold_start()
        yield Pipeline(resources, signing_secret, marketplace, internal_api, provider)
        cold_start()


@pytest.fixture
def info_logs() -> Iterator[io.StringIO]:
    """The functions' log lines at INFO. The handler keeps the stdout it was created with,
    so it is pointed at a buffer for the test."""
    from shared.observability import logger

    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous_level, previous_stream = logger.log_level, handler.setStream(buffer)
    logger.setLevel("INFO")
    yield buffer
    logger.setLevel(previous_level)
    handler.setStream(previous_stream)
