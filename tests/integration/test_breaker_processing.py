"""The processing stage's circuit breaker on moto: the internal API down, failures past the
threshold open the breaker, and every record that fails while it is open is parked (back on its
queue as a new message) instead of spending its receives toward the DLQ."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from local.http_stub import StubResponse
from shared.breaker import circuit, mappings
from shared.breaker.settings import GuardedStages, Peer
from shared.breaker.store import BreakerStore
from tests.support.aws import MAX_RECEIVE_COUNT, REGION
from tests.support.flows import accept_webhook, event_item, run_download, run_processing
from tests.support.pipeline import Pipeline

ORDERS = [f"QO-9100{n:02d}" for n in range(6)]  # more than the dev threshold of 5 failures


@pytest.fixture
def breakers(pipeline: Pipeline) -> Iterator[BreakerStore]:
    """The breaker table, read back; the containers' breakers forgotten before and after."""
    guarded = GuardedStages.model_validate_json(os.environ["CIRCUIT_BREAKER"])
    circuit.stage_breakers.cache_clear()
    mappings.lambda_client.cache_clear()
    yield BreakerStore(guarded.table_name, boto3.client("dynamodb", region_name=REGION))
    circuit.stage_breakers.cache_clear()
    mappings.lambda_client.cache_clear()


def _depths(queue_url: str) -> dict[str, int]:
    sqs: Any = boto3.client("sqs", region_name=REGION)
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    return {
        name: int(attributes[f"ApproximateNumberOf{name}"])
        for name in ("Messages", "MessagesNotVisible", "MessagesDelayed")
    }


def test_records_failing_with_the_breaker_open_are_parked_not_dead_lettered(
    pipeline: Pipeline, breakers: BreakerStore
) -> None:
    # Given downloaded orders, and an internal API that answers 503 to every order
    event_ids = [accept_webhook(pipeline.signing_secret, order) for order in ORDERS]
    download = pipeline.resources.download
    assert run_download(download.url, download.arn) == (len(ORDERS), [])
    pipeline.internal_api.script("POST", "/orders", *[StubResponse(503)] * 500)
    processing = pipeline.resources.processing

    # When the stage polls as many times as the queue allows receives
    for _ in range(MAX_RECEIVE_COUNT):
        run_processing(processing.url, processing.arn)

    # Then the breaker opened on the failures, naming the last one
    breaker = breakers.get(Peer.INTERNAL_API)
    assert breaker.is_open
    assert "503" in (breaker.reason or "")
    # And nothing was dead-lettered: every order waits, back on the queue as a new message
    assert sum(_depths(processing.dlq_url).values()) == 0
    assert sum(_depths(processing.url).values()) == len(ORDERS)
    for event_id in event_ids:
        item: dict[str, Any] = event_item(event_id)
        assert item["status"] == "RETRYING"
        assert "circuit open" in item["status_history"][-1]["detail"]
        assert "dead_letter" not in item
