"""Drive SQS → Lambda as the event source mapping does: batch, invoke, delete what succeeded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3

from tests.support.aws import REGION
from tests.support.lambda_events import FakeLambdaContext, sqs_event

Handler = Callable[[dict[str, Any], Any], Any]


def receive(queue_url: str, max_messages: int = 10) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=REGION)
    messages = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=max_messages,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    ).get("Messages", [])
    return [dict(message) for message in messages]


def deliver_once(
    handler: Handler, queue_url: str, queue_arn: str, *, batch_size: int = 10
) -> tuple[int, list[str]]:
    """One poll: invoke `handler` with what is visible, delete the records it did not report
    as failed and make the failed ones visible again at once. Returns (records, failed ids)."""
    messages = receive(queue_url, batch_size)
    if not messages:
        return 0, []
    try:
        response = handler(sqs_event(messages, queue_arn), FakeLambdaContext())
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
    except Exception:  # noqa: BLE001 - any invocation error, as Lambda sees it
        # An invocation error leaves every message of the batch to reappear.
        failed = {message["MessageId"] for message in messages}
    sqs = boto3.client("sqs", region_name=REGION)
    for message in messages:
        if message["MessageId"] in failed:
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
        else:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return len(messages), sorted(failed)


def drain(handler: Handler, queue_url: str, queue_arn: str, *, max_polls: int = 20) -> int:
    """Poll until the queue is empty (bounded); returns how many records were delivered."""
    delivered = 0
    for _ in range(max_polls):
        count, _failed = deliver_once(handler, queue_url, queue_arn)
        if count == 0:
            return delivered
        delivered += count
    return delivered
