"""The floor of a stage's AWS work: the calls `bench.calls` counted for it, issued bare (boto3,
nothing else) to the local runtime's moto server, against scratch resources of the bench's own
(a table keyed like the events table, a queue, a bucket) so the pipeline never sees them."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from bench.model import StageUsage

ITEM_PADDING = "x" * 700  # an event item is about 1 KB: one write unit, as the ingest's are


@dataclass
class Scratch:
    """The bench's own resources on the moto server, and one client per service."""

    dynamodb: Any
    sqs: Any
    s3: Any
    table: str = field(default_factory=lambda: f"bench-floor-{uuid.uuid4().hex[:8]}")
    bucket: str = field(default_factory=lambda: f"bench-floor-{uuid.uuid4().hex[:8]}")
    queue_url: str = ""

    def create(self) -> Scratch:
        self.dynamodb.create_table(
            TableName=self.table,
            KeySchema=[{"AttributeName": "event_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "event_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.s3.create_bucket(Bucket=self.bucket)
        self.queue_url = self.sqs.create_queue(QueueName=self.table)["QueueUrl"]
        return self


Call = Callable[[Scratch, str], Any]


def _put_item(s: Scratch, key: str) -> Any:
    return s.dynamodb.put_item(
        TableName=s.table,
        Item={"event_id": {"S": key}, "status": {"S": "RECEIVED"}, "pad": {"S": ITEM_PADDING}},
        ConditionExpression="attribute_not_exists(event_id)",
    )


def _update_item(s: Scratch, key: str) -> Any:
    return s.dynamodb.update_item(
        TableName=s.table,
        Key={"event_id": {"S": key}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "QUEUED"}},
    )


def _get_item(s: Scratch, key: str) -> Any:
    return s.dynamodb.get_item(TableName=s.table, Key={"event_id": {"S": key}})


def _query(s: Scratch, key: str) -> Any:
    return s.dynamodb.query(
        TableName=s.table,
        KeyConditionExpression="event_id = :k",
        ExpressionAttributeValues={":k": {"S": key}},
    )


def _batch_write(s: Scratch, key: str) -> Any:
    item = {"event_id": {"S": f"{key}-b"}, "pad": {"S": ITEM_PADDING}}
    return s.dynamodb.batch_write_item(RequestItems={s.table: [{"PutRequest": {"Item": item}}]})


def _send_message(s: Scratch, key: str) -> Any:
    return s.sqs.send_message(QueueUrl=s.queue_url, MessageBody=f'{{"event_id": "{key}"}}')


def _put_object(s: Scratch, key: str) -> Any:
    return s.s3.put_object(Bucket=s.bucket, Key=key, Body=ITEM_PADDING.encode())


def _get_object(s: Scratch, key: str) -> Any:
    return s.s3.get_object(Bucket=s.bucket, Key=key)["Body"].read()


def _head_object(s: Scratch, key: str) -> Any:
    return s.s3.head_object(Bucket=s.bucket, Key=key)


# What each counted operation is issued as. Reads follow the writes of the same key, so an
# item or object is there to be read (the order in which `plan` issues them).
CALLS: dict[str, Call] = {
    "dynamodb.PutItem": _put_item,
    "dynamodb.UpdateItem": _update_item,
    "dynamodb.GetItem": _get_item,
    "dynamodb.Query": _query,
    "dynamodb.BatchWriteItem": _batch_write,
    "sqs.SendMessage": _send_message,
    "s3.PutObject": _put_object,
    "s3.GetObject": _get_object,
    "s3.HeadObject": _head_object,
}
_ORDER = ("s3.PutObject", "dynamodb.PutItem", "dynamodb.BatchWriteItem")  # writes first


@dataclass(frozen=True)
class Plan:
    calls: list[tuple[int, Call]]  # (the how-many-th call of its operation, the call)
    issued: dict[str, int]  # operation -> count, the ones the floor makes
    not_issued: dict[str, int]  # counted operations the floor has no bare form for


def plan(counted: dict[str, float]) -> Plan:
    """The bare calls for one unit of work of a stage (counts rounded to whole calls)."""
    issued: dict[str, int] = {}
    missing: dict[str, int] = {}
    for operation, count in counted.items():
        whole = round(count)
        if whole > 0:
            (issued if operation in CALLS else missing)[operation] = whole
    ordered = sorted(issued, key=lambda op: (op not in _ORDER, op))
    calls = [(n, CALLS[op]) for op in ordered for n in range(issued[op])]
    return Plan(calls, issued, missing)


def issue(scratch: Scratch, calls: list[tuple[int, Call]], key: str | None = None) -> None:
    """One unit of work's calls, one after another, on fresh keys: the n-th call of an
    operation gets the n-th key (two conditional puts of one unit go to two items, as the
    stage's go to two tables). Stages of one webhook share its `key`: a later stage reads what
    an earlier one wrote."""
    key = key or uuid.uuid4().hex
    for nth, call in calls:
        call(scratch, f"{key}-{nth}")


SERVICES = ("dynamodb", "sqs", "s3")  # Scratch's clients, in its field order
# The order pipeline's queues (construct path parts): the latency floor's batching windows.
ORDER_QUEUES = ("/DownloadQueue/", "/ProcessingQueue/")


@cache
def counted_usage(quick: bool) -> tuple[StageUsage, ...] | None:
    """`bench.calls.usage`, once per bench run (bench.cost prices it too); None when
    bench.calls does not exist (yet)."""
    try:
        calls = importlib.import_module("bench.calls")
    except ModuleNotFoundError as error:
        if error.name == "bench.calls":
            return None
        raise
    return tuple(calls.usage(quick))


def stage_plan(stage: str, quick: bool) -> Plan | None:
    """The bare calls `stage` makes for one webhook (a unit may be a batch of several), or None
    when bench.calls does not count that stage."""
    usage = counted_usage(quick)
    found = [u for u in usage or () if u.stage == stage]
    if not found:
        return None
    return plan({op: n * found[0].units_per_webhook for op, n in found[0].calls.items()})
