"""The pipeline `bench.batches` drives: the synthesized dev template provisioned on moto
in-process (as the integration tests provision it), local HTTP peers whose latency can be set,
and the SQS event of a batch of N for each worker, seeded by running the stages before it."""

from __future__ import annotations

import itertools
import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bench.replay import Replay

ROOT = Path(__file__).resolve().parents[1]
# What tests/conftest.py sets before anything imports boto3 or Powertools: no real account, no
# tracing, quiet logs (Powertools reads these once, at import).
_PROCESS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "webhook-pipeline-bench",
    "POWERTOOLS_METRICS_NAMESPACE": "WebhookPipeline/bench",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
}
_ids = itertools.count(100000)


@dataclass
class BenchPipeline:
    resources: Any  # tests.support.aws.Resources
    signing_secret: str
    marketplace: Any  # local.http_stub.StubServer
    internal_api: Any
    provider: Any  # local.provider_api.ProductDataApi
    peer_delay: list[float] = field(default_factory=lambda: [0.0])
    replay: Replay = field(default_factory=Replay)

    @contextmanager
    def peer_latency(self, seconds: float) -> Iterator[None]:
        previous = self.peer_delay[0]
        self.peer_delay[0] = self.provider.latency_seconds = seconds
        try:
            yield
        finally:
            self.peer_delay[0] = self.provider.latency_seconds = previous

    def delayed(self, answer: Any) -> Any:
        """A stub route's responder, answering after the peer latency in force."""
        from local.http_stub import StubResponse

        def respond(request: Any) -> Any:
            response = answer(request)
            return StubResponse(response.status, response.body, delay_seconds=self.peer_delay[0])

        return respond

    @contextmanager
    def dynamodb_latency(self, seconds: float) -> Iterator[None]:
        """Every DynamoDB call of the functions' clients waits `seconds` first."""
        with self._hook("before-call.dynamodb", lambda **_: time.sleep(seconds)):
            yield

    @contextmanager
    def aws_latency(self, seconds: float) -> Iterator[None]:
        """Every AWS call of the functions' clients (DynamoDB, S3, SQS) waits `seconds` first:
        on Lambda each call is a network wait, which the records of a batch overlap."""
        with self._hook("before-call", lambda **_: time.sleep(seconds)):
            yield

    @contextmanager
    def count_calls(self, service: str) -> Iterator[Counter[tuple[str, str]]]:
        """(operation, table) → calls made by the functions' clients of `service`."""
        calls: Counter[tuple[str, str]] = Counter()
        lock = threading.Lock()

        def record(params: dict[str, Any], model: Any, **_: Any) -> None:  # the API's params
            tables = [params["TableName"]] if "TableName" in params else params.get("RequestItems")
            with lock:
                for table in tables or [""]:
                    calls[(model.name, str(table))] += 1

        with self._hook(f"before-parameter-build.{service}", record):
            yield calls

    @contextmanager
    def _hook(self, event: str, hook: Any) -> Iterator[None]:
        from shared import aws_clients

        dynamodb: list[Any] = [aws_clients.dynamodb_client()]
        others: list[Any] = [aws_clients.sqs(), aws_clients.s3()]
        service = event.partition(".")[2]  # "before-call" alone: every service
        clients = dynamodb if service == "dynamodb" else others if service else dynamodb + others
        for client in clients:
            client.meta.events.register(event, hook, unique_id=f"bench-{id(hook)}")
        try:
            yield
        finally:
            for client in clients:
                client.meta.events.unregister(event, unique_id=f"bench-{id(hook)}")


def _keep_alive_stub() -> Any:
    """`local.http_stub.StubServer` answering HTTP/1.1: a real peer (the marketplace, the internal
    API) keeps a connection open, and the functions' pool reuses it; the stub's HTTP/1.0 closes
    it after every answer, so each GET paid a TCP connect here and a new server thread (CPU under
    the GIL, in the worker's process, that Lambda does not spend)."""
    from local.http_stub import StubServer

    class KeepAliveStub(StubServer):
        def _handler_class(self) -> Any:
            handler = super()._handler_class()
            return type("KeepAliveHandler", (handler,), {"protocol_version": "HTTP/1.1"})

    return KeepAliveStub


@contextmanager
def synthesized_template() -> Iterator[Path]:
    """The dev stack's cdk.out, synthesized for this run (as the tests synthesize it)."""
    _on_path(ROOT / "lambdas")
    from tests.support.stack import synthesized

    with tempfile.TemporaryDirectory() as tmp:
        yield synthesized(Path(tmp))


@contextmanager
def bench_pipeline(cdk_out: Path) -> Iterator[BenchPipeline]:
    """The dev template's resources on moto in this process, the peers, the functions'
    environment."""
    # The functions' metrics (EMF lines on stdout) are not the benchmark's output.
    with (
        pytest.MonkeyPatch.context() as patch,
        open(os.devnull, "w") as devnull,
        redirect_stdout(devnull),
        _aws(patch, replay := Replay()),
    ):
        from local.provider_api import ProductDataApi
        from tests.support import pipeline as support
        from tests.support.aws import PROVIDER_KEY

        stub = _keep_alive_stub()
        with (
            stub() as market,
            stub() as internal,
            ProductDataApi(PROVIDER_KEY) as provider,
        ):
            bench = BenchPipeline(None, "", market, internal, provider, replay=replay)
            market.route("GET", r"/orders/QO-\d+", bench.delayed(support.serve_orders))
            internal.route("POST", r"/orders", bench.delayed(support.accept_order))
            for name, value in _provision(bench, cdk_out).items():
                patch.setenv(name, value)
            support.cold_start()
            try:
                yield bench
            finally:
                support.cold_start()


@contextmanager
def _aws(patch: pytest.MonkeyPatch, replay: Replay) -> Iterator[None]:
    for name, value in _PROCESS_ENV.items():
        patch.setenv(name, os.environ.get(name, value) if "AWS" in name else value)
    patch.delenv("AWS_PROFILE", raising=False)
    patch.delenv("AWS_ENDPOINT_URL", raising=False)
    from moto import mock_aws
    from moto.core.botocore_stubber import BotocoreStubber

    from local.moto_extensions import apply as extend_moto

    patch.setattr(BotocoreStubber, "__call__", replay.wrap(BotocoreStubber.__call__))

    extend_moto()  # as the tests do: DynamoDB's atomic writes
    with mock_aws():
        yield


def _provision(bench: BenchPipeline, cdk_out: Path) -> dict[str, str]:
    """The template's resources created; returns the functions' environment."""
    from tests.support.aws import Peers, provision_pipeline, template_variables
    from tests.support.pipeline import MARKETPLACE_TOKEN
    from tests.support.signing import new_secret
    from tests.support.stack import fresh_template

    template = fresh_template(cdk_out)
    peers = Peers(bench.marketplace.url, bench.internal_api.url, bench.provider.url)
    bench.signing_secret = new_secret()
    bench.resources, environment = provision_pipeline(
        template, peers, signing_secret=bench.signing_secret, token=MARKETPLACE_TOKEN
    )
    # The deployed HTTP client settings, not the tests' quick-to-give-up ones.
    [environment["HTTP_CLIENT"]] = template_variables(template)["HTTP_CLIENT"]
    return environment


def _on_path(directory: Path) -> None:
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))


def _receive(queue_url: str, n: int) -> list[dict[str, Any]]:
    from tests.support.pump import receive

    messages: list[dict[str, Any]] = []
    for _ in range(20):
        messages += receive(queue_url, n - len(messages))
        if len(messages) == n:
            return messages
    raise RuntimeError(f"{queue_url} holds {len(messages)} messages, the batch needs {n}")


def _event(queue: Any, n: int) -> dict[str, Any]:
    from tests.support.lambda_events import sqs_event

    return sqs_event(_receive(queue.url, n), queue.arn)


def download_batch(bench: BenchPipeline, n: int) -> dict[str, Any]:
    from tests.support.flows import accept_webhook

    for _ in range(n):
        accept_webhook(bench.signing_secret, f"QO-{next(_ids)}")
    return _event(bench.resources.download, n)


def processing_batch(bench: BenchPipeline, n: int) -> dict[str, Any]:
    from download_worker.handler import handler
    from tests.support.lambda_events import FakeLambdaContext

    with bench.peer_latency(0):
        handler(download_batch(bench, n), FakeLambdaContext())
    return _event(bench.resources.processing, n)


def erp_batch(bench: BenchPipeline, n: int) -> dict[str, Any]:
    """`n` updates of `n` different products (the standard lane)."""
    from erp.entities import EntityType
    from tests.support.erp import VALID_DATA, accept, body

    for _ in range(n):
        data = VALID_DATA[EntityType.PRODUCT]
        accept("products", body(EntityType.PRODUCT, data, entity_id=f"E-{next(_ids)}"))
    return _event(bench.resources.erp_lanes["standard"], n)


def enrichment_batch(bench: BenchPipeline, n: int) -> dict[str, Any]:
    """One catalog batch of `n` products, every one known to the provider."""
    from tests.support.catalog import enrichment_body, start

    response = start(f"cat-{next(_ids)}", enrichment_body(n, batch_size=max(n, 5)))
    if response["statusCode"] != 202:
        raise RuntimeError(f"the enrichment was refused: {json.loads(response['body'])}")
    return _event(bench.resources.enrichment, 1)
