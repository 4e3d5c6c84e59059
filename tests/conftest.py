"""Shared fixtures: offline AWS (moto) with the resources of the synthesized template, local
HTTP peers, the functions' log output."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path

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

from botocore.config import Config
from moto import mock_aws

from local.http_stub import StubServer
from local.moto_extensions import apply as extend_moto
from local.provider_api import ProductDataApi
from shared import aws_clients
from tests.support.aws import PROVIDER_KEY, Peers, provision_pipeline
from tests.support.pipeline import (
    MARKETPLACE_TOKEN,
    Pipeline,
    accept_order,
    cold_start,
    serve_orders,
)
from tests.support.signing import new_secret
from tests.support.stack import fresh_template, session_dir, synthesized

extend_moto()  # DynamoDB's atomic writes; SQS message move tasks (native DLQ redrive)
# The functions skip botocore's parameter check for speed (the services check every request);
# here a malformed call fails at the client, naming the parameter, before moto could accept it.
aws_clients.BOTO_CONFIG = aws_clients.BOTO_CONFIG.merge(Config(parameter_validation=True))


@pytest.fixture(scope="session")
def cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dev stack synthesized once for the session (shared by its xdist workers)."""
    return synthesized(session_dir(tmp_path_factory))


@pytest.fixture
def pipeline(monkeypatch: pytest.MonkeyPatch, cdk_out: Path) -> Iterator[Pipeline]:
    """moto with the template's resources, stub marketplace and internal APIs, the functions'
    environment set."""
    signing_secret = new_secret()
    with (
        mock_aws(),
        StubServer() as marketplace,
        StubServer() as internal_api,
        ProductDataApi(PROVIDER_KEY) as provider,
    ):
        marketplace.route("GET", r"/orders/QO-\d+", serve_orders)
        internal_api.route("POST", r"/orders", accept_order)
        resources, environment = provision_pipeline(
            fresh_template(cdk_out),
            Peers(marketplace.url, internal_api.url, provider.url),
            signing_secret=signing_secret,
            token=MARKETPLACE_TOKEN,
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
