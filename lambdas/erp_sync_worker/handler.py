"""The ERP sync stage's worker (`erp.stages.Sync`), wired for this container: it consumes every
priority lane's queue; a non-retryable failure goes to the DLQ of the lane it came from."""

from __future__ import annotations

import shared.startup

from dataclasses import dataclass
from functools import lru_cache

# Before anything imports pydantic: Powertools' batch module then skips building its pydantic
# parser models (~100 ms of every cold start), which none of our functions uses.
import aws_lambda_powertools.utilities.batch  # noqa: F401
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from erp.messages import ErpSyncRequested
from erp.stages import SYNC, Sync, entity_key
from erp.store import EntityStore
from shared.batch import Attempt
from shared.event_store import EventStore
from shared.observability import tracer
from shared.queues import QueueRef
from shared.settings import get_settings
from shared.worker import StageRuntime, TrackedWorkerSettings, parse_message, worker_handler

# The sync makes no HTTP calls (no HTTP_CLIENT pool to size it by): the records of a batch are
# DynamoDB writes, run this many entities at once (as many as a lane's batch holds); the updates
# of one entity run one after another, in the order they were sent.
SYNC_CONCURRENCY = 10


class SyncSettings(TrackedWorkerSettings):
    entities_table_name: str
    erp_lanes: dict[str, QueueRef]  # lane → its queue pair (one retry schedule for all)


@dataclass(frozen=True)
class _Worker(Sync):
    """The stage with its adapters, what runs its batches, and which lane each queue is."""

    runtime: StageRuntime
    lane_by_arn: dict[str, str]


@lru_cache(maxsize=1)
def _deps() -> _Worker:
    settings = get_settings(SyncSettings)
    lanes = settings.erp_lanes
    events = EventStore(settings.events_table_name)
    return _Worker(
        entities=EntityStore(settings.entities_table_name),
        events=events,
        runtime=StageRuntime.of(
            SYNC,
            settings,
            dlq_url=next(iter(lanes.values())).dlq_url,
            concurrency=SYNC_CONCURRENCY,
            events=events,
            dlq_by_source={lane.arn: lane.dlq_url for lane in lanes.values()},
            group_by=entity_key,
        ),
        lane_by_arn={ref.arn: lane for lane, ref in lanes.items()},
    )


@tracer.capture_method
def sync(record: SQSRecord, attempt: Attempt) -> None:
    deps = _deps()
    lane = deps.lane_by_arn.get(record.event_source_arn or "", "unknown")
    deps.run(parse_message(ErpSyncRequested, record), attempt, lane=lane)


handler = worker_handler(lambda: _deps().runtime, sync)

shared.startup.loaded()  # last: every object of the cold start is built
