"""ConcurrentBatchProcessor: the records of one batch run at the same time."""

from __future__ import annotations

import threading
from typing import Any

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shared.batch import ConcurrentBatchProcessor
from tests.support.lambda_events import FakeLambdaContext


def sqs_records(count: int) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m{i}",
                "receiptHandle": f"r{i}",
                "body": str(i),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
            }
            for i in range(count)
        ]
    }


def test_records_of_a_batch_run_concurrently_up_to_the_pool_size() -> None:
    # Given a handler that only returns once 5 records are in it at the same time
    together = threading.Barrier(5)

    def handler(record: SQSRecord) -> None:
        together.wait(timeout=5)

    # When a batch of 5 runs on a pool of 5, Then no record fails (sequentially, all would)
    response = process_partial_response(
        event=sqs_records(5),
        record_handler=handler,
        processor=ConcurrentBatchProcessor(max_workers=5),
        context=FakeLambdaContext(),
    )
    assert response == {"batchItemFailures": []}


def test_failures_are_reported_per_record() -> None:
    def handler(record: SQSRecord) -> None:
        if int(record.body) % 2:
            raise RuntimeError("odd")

    response = process_partial_response(
        event=sqs_records(6),
        record_handler=handler,
        processor=ConcurrentBatchProcessor(max_workers=3),
        context=FakeLambdaContext(),
    )
    assert sorted(str(f["itemIdentifier"]) for f in response["batchItemFailures"]) == [
        "m1",
        "m3",
        "m5",
    ]


def test_a_batch_where_every_record_fails_lists_them_all_instead_of_raising() -> None:
    def handler(record: SQSRecord) -> None:
        raise RuntimeError("down")

    response = process_partial_response(
        event=sqs_records(2),
        record_handler=handler,
        processor=ConcurrentBatchProcessor(max_workers=2),
        context=FakeLambdaContext(),
    )
    assert len(response["batchItemFailures"]) == 2
