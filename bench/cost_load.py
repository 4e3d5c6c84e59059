"""How prod's config turns a steady arrival rate into billed units per record, for `bench.cost`:
records per invoke from a queue's batch size and batching window, the event source mapping's
SQS requests per record, the share of invokes X-Ray records, and the log lines prod keeps.
Each figure here is a stated model of AWS's behaviour, not a measurement: the notes say which."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from infra.config import EnvironmentSettings
from infra.config.queues import QueueConsumerSettings

# The steady arrival rates (webhooks or products a second) the model is priced at: a busy
# marketplace, and a trickle, where batches do not fill and the X-Ray reservoir records all.
STEADY_RATE = 50.0
TRICKLE_RATE = 1.0
# Lambda polls a standard queue with five pollers at first, adding more only for a backlog
# (aws.amazon.com/blogs/compute/understanding-how-aws-lambda-scales-...): at a steady rate they
# share the arrivals, so each gathers rate/5 a second into its batch.
POLLERS = 5
SQS_RECEIVE_MAX = 10  # messages one ReceiveMessage returns at most
SQS_DELETE_BATCH_MAX = 10  # entries one DeleteMessageBatch takes at most
# The default sampling rule: the first request each second, then 5% of the rest (the stack sets
# no sampling rule of its own). Applied per entry point: API Gateway for an API invoke (its trace
# holds the function's segment), Lambda for each queue-triggered invoke (a trace of its own,
# linked to the producers' traces).
XRAY_RESERVOIR_PER_SECOND = 1.0
XRAY_FIXED_RATE = 0.05
# Lambda's own JSON lines per invoke at the system log level INFO (platform.start and
# platform.report with its X-Ray fields): not written by the local runtime, so added here.
PLATFORM_LOG_BYTES_PER_INVOKE = 600
# Which queue feeds a stage's function (infra/config `queues`); ERP webhooks priced as if all
# went to the standard-priority queue (the three share one batch size and window in prod).
STAGE_QUEUES = {
    "download": "download",
    "processing": "processing",
    "erp-sync": "erp_standard",
    "enrichment": "enrichment",
}
LEVELS_KEPT = ("INFO", "WARNING", "WARN", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class Load:
    """What one record's share of an invoke is, at a steady rate: the fraction of an invoke, of
    the mapping's SQS requests and of a recorded trace it pays for."""

    records_per_invoke: float
    sqs_requests_per_invoke: float  # the mapping's receives and deletes; 0 behind the API
    traced_share: float  # the fraction of invokes X-Ray records


def sampled_share(invokes_per_second: float) -> float:
    """The share of entry points the default sampling rule records at this steady rate."""
    if invokes_per_second <= XRAY_RESERVOIR_PER_SECOND:
        return 1.0
    rest = invokes_per_second - XRAY_RESERVOIR_PER_SECOND
    return (XRAY_RESERVOIR_PER_SECOND + XRAY_FIXED_RATE * rest) / invokes_per_second


def records_per_invoke(queue: QueueConsumerSettings, records_per_second: float) -> float:
    """A poller waits up to the batching window for a full batch: it holds what its share of
    the arrivals brings in that time, at least the record that opened the batch."""
    gathered = records_per_second / POLLERS * queue.batching_window_seconds
    return float(min(queue.batch_size, max(1.0, gathered)))


def queue_load(queue: QueueConsumerSettings, records_per_second: float) -> Load:
    """ReceiveMessage returns up to 10 of the waiting messages, so a batch of up to 10 takes one;
    Lambda deletes a successful batch's messages together (DeleteMessageBatch, up to 10)."""
    records = records_per_invoke(queue, records_per_second)
    requests = math.ceil(records / SQS_RECEIVE_MAX) + math.ceil(records / SQS_DELETE_BATCH_MAX)
    return Load(records, float(requests), sampled_share(records_per_second / records))


def stage_load(stage: str, settings: EnvironmentSettings, records_per_second: float) -> Load:
    """An API stage has an invoke per request; a queued stage batches as its mapping does."""
    queue_key = STAGE_QUEUES.get(stage)
    if queue_key is None:
        return Load(1.0, 0.0, sampled_share(records_per_second))
    return queue_load(getattr(settings.queues, queue_key), records_per_second)


def kept_bytes(lines: list[bytes]) -> int:
    """The bytes of the log lines prod keeps: INFO and above (prod's application log level).
    A line that is not a JSON record with a level (a traceback, a warning from a library) is
    kept: Lambda forwards whatever the process writes."""
    kept = 0
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            kept += len(line)
            continue
        level = record.get("level") if isinstance(record, dict) else None
        if level is None or str(level).upper() in LEVELS_KEPT:
            kept += len(line)
    return kept
