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


def grouped_records(bodies: list[tuple[str, int]]) -> dict[str, Any]:
    """Records whose body is their group, sent at the given SentTimestamps, in batch order."""
    event = sqs_records(len(bodies))
    for record, (group, sent_at) in zip(event["Records"], bodies, strict=True):
        record["body"] = group
        record["attributes"]["SentTimestamp"] = str(sent_at)
    return event


def run_grouped(
    event: dict[str, Any], handler: Any, processor: ConcurrentBatchProcessor
) -> list[str]:
    response = process_partial_response(
        event=event, record_handler=handler, processor=processor, context=FakeLambdaContext()
    )
    return sorted(str(f["itemIdentifier"]) for f in response["batchItemFailures"])


def test_groups_run_concurrently_and_each_group_in_the_order_it_was_sent() -> None:
    # Given two groups of two, the second record of group "a" sent before the first in the batch
    event = grouped_records([("a", 20), ("b", 10), ("a", 10), ("b", 20)])
    together = threading.Barrier(2)  # both groups' first records are in the handler at once
    seen: dict[str, list[str]] = {"a": [], "b": []}

    def handler(record: SQSRecord) -> None:
        if not seen[record.body]:
            together.wait(timeout=5)
        seen[record.body].append(record.message_id)

    # When the batch runs on a pool of 4
    failed = run_grouped(event, handler, ConcurrentBatchProcessor(4, group_by=lambda r: r.body))

    # Then nothing failed (sequentially the barrier would break) and each group ran in sent order
    assert failed == []
    assert seen == {"a": ["m2", "m0"], "b": ["m1", "m3"]}


def test_after_a_failure_the_later_records_of_its_group_are_blocked_by_it() -> None:
    # Given a group whose first record fails, and another group
    event = grouped_records([("a", 1), ("a", 2), ("b", 1), ("a", 3)])
    processor = ConcurrentBatchProcessor(4, group_by=lambda r: r.body)
    blocked: dict[str, str | None] = {}

    def handler(record: SQSRecord) -> None:
        blocked[record.message_id] = processor.blocked_by(record)
        if record.message_id == "m0" or blocked[record.message_id]:
            raise RuntimeError("down" if record.message_id == "m0" else "blocked")

    # When the batch runs
    failed = run_grouped(event, handler, processor)

    # Then the later records of the failed group are told what blocks them and fail with it;
    # the other group is not held back
    assert failed == ["m0", "m1", "m3"]
    assert blocked == {"m0": None, "m1": "m0", "m2": None, "m3": "m0"}


def test_records_without_a_group_run_alone() -> None:
    event = grouped_records([("x", 1), ("x", 2)])
    processor = ConcurrentBatchProcessor(2, group_by=lambda _: None)

    def handler(record: SQSRecord) -> None:
        assert processor.blocked_by(record) is None
        raise RuntimeError("down")

    assert run_grouped(event, handler, processor) == ["m0", "m1"]
