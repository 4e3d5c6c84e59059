"""Drive SQS → Lambda in the test process, synchronously, with the local runtime's poll and
settle (`local.event_sources.receive_batch` / `deliver_batch`): one implementation of "receive a
batch, build the SQS event, invoke, delete what succeeded, honour batchItemFailures".

Unlike on AWS (and in the runtime), a record the handler reported failed is made visible again
at once, as if its backoff had passed, so a test can run the next attempt straight away.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3

from local.event_sources import Delivery, EventSourceMapping, deliver_batch, receive_batch
from local.functions import InvocationError
from tests.support.aws import REGION
from tests.support.lambda_events import FakeLambdaContext

Handler = Callable[[dict[str, Any], Any], Any]


class InProcessFunction:
    """A handler as the pump invokes it: any exception fails the invoke as a whole, as an
    unhandled error fails a Lambda invoke."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler

    def invoke(self, event: dict[str, Any]) -> Any:
        try:
            return self._handler(event, FakeLambdaContext())
        except Exception as exc:  # any error, as Lambda sees it: re-raised as the invoke failing
            raise InvocationError("error", f"{type(exc).__name__}: {exc}") from exc


def _sqs() -> Any:
    return boto3.client("sqs", region_name=REGION)


def receive(queue_url: str, max_messages: int = 10) -> list[dict[str, Any]]:
    """What a receive gets now (with every attribute): the messages stay in flight."""
    return receive_batch(_sqs(), queue_url, max_messages)


def deliver(handler: Handler, queue_url: str, queue_arn: str, *, batch_size: int = 10) -> Delivery:
    """One poll: invoke `handler` with what is visible and settle the batch."""
    sqs = _sqs()
    messages = receive_batch(sqs, queue_url, batch_size)
    if not messages:
        return Delivery(0, frozenset())
    mapping = EventSourceMapping(
        function_logical_id=getattr(handler, "__module__", "handler"),
        queue_logical_id=queue_url.rsplit("/", 1)[-1],
        queue_url=queue_url,
        queue_arn=queue_arn,
        batch_size=batch_size,
        batching_window_seconds=0,
        report_batch_item_failures=True,
    )
    return deliver_batch(
        sqs,
        mapping,
        messages,
        InProcessFunction(handler),
        region=REGION,
        crash_visibility_seconds=0,
        failure_visibility_seconds=0,
    )


def deliver_once(
    handler: Handler, queue_url: str, queue_arn: str, *, batch_size: int = 10
) -> tuple[int, list[str]]:
    """One poll; returns (records delivered, the ids of those that failed)."""
    delivery = deliver(handler, queue_url, queue_arn, batch_size=batch_size)
    return delivery.records, sorted(delivery.failed)


def deliver_one(handler: Handler, queue_url: str, queue_arn: str) -> dict[str, Any]:
    """The next message of the queue, alone (batch size 1); returns the handler's response."""
    delivery = deliver(handler, queue_url, queue_arn, batch_size=1)
    assert delivery.records == 1, f"no message to deliver on {queue_url}"
    assert delivery.error is None, f"the invoke failed: {delivery.error}"
    return dict(delivery.response)


def drain(handler: Handler, queue_url: str, queue_arn: str, *, max_polls: int = 20) -> int:
    """Poll until the queue is empty (bounded); returns how many records were delivered."""
    delivered = 0
    for _ in range(max_polls):
        count, _failed = deliver_once(handler, queue_url, queue_arn)
        if count == 0:
            return delivered
        delivered += count
    return delivered
