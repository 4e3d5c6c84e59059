"""Sync stage: ERP event → entity store (ordering-safe) → PROCESSED (synced or stale_ignored).

Every attempt is in the event's history (PROCESSING; RETRYING with the next retry time). Retryable
failures back off exponentially; non-retryable ones go to the DLQ of the lane they came from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import ClientError

from erp.entities import PIPELINE, ErpEventType
from erp.entity_store import EntityStore, Outcome
from erp.messages import ErpSyncRequested
from shared import claim_check
from shared.batch import Attempt
from shared.claim_check import ClaimRef
from shared.errors import NonRetryableError
from shared.event_store import EventStatus
from shared.metrics import count
from shared.observability import logger, tracer
from shared.queues import QueueRef
from shared.settings import get_settings
from shared.worker import StageRuntime, WorkerSettings, parse_message, stage_runtime, worker_handler

STAGE = "sync"
# DynamoDB refusals that no retry can fix.
_PERMANENT_ERRORS = frozenset({"ValidationException", "ItemCollectionSizeLimitExceededException"})


class SyncSettings(WorkerSettings):
    entities_table_name: str
    erp_lanes: dict[str, QueueRef]  # lane → its queue pair (one retry schedule for all)


@dataclass(frozen=True)
class _Dependencies:
    stage: StageRuntime
    entities: EntityStore
    lane_by_arn: dict[str, str]


@lru_cache(maxsize=1)
def _deps() -> _Dependencies:
    settings = get_settings(SyncSettings)
    lanes = settings.erp_lanes
    stage = stage_runtime(
        settings,
        pipeline=PIPELINE,
        stage=STAGE,
        dlq_url=next(iter(lanes.values())).dlq_url,
        dead_letter_metric="ErpEventDeadLettered",
        is_done=synced,
        retried_metric="ErpEventRetried",
        dlq_by_source={lane.arn: lane.dlq_url for lane in lanes.values()},
    )
    return _Dependencies(
        stage=stage,
        entities=EntityStore(settings.entities_table_name),
        lane_by_arn={ref.arn: lane for lane, ref in lanes.items()},
    )


def synced(event: dict[str, Any]) -> bool:
    return bool(event["status"] == EventStatus.PROCESSED.value)


@tracer.capture_method
def sync(record: SQSRecord, attempt: Attempt) -> None:
    deps = _deps()
    message = parse_message(ErpSyncRequested, record)
    events = deps.stage.events
    # Which lane carried it: operators can check the priority mapping held.
    lane = deps.lane_by_arn.get(record.event_source_arn or "", "unknown")
    if not attempt.final:  # a final attempt is already marked; PROCESSING would unmark it
        events.transition(
            message.event_id,
            EventStatus.PROCESSING,
            stage=STAGE,
            detail=f"attempt {attempt.number} of {attempt.of} from the {lane} lane",
        )
    if message.event_type is ErpEventType.PING:
        events.transition(
            message.event_id,
            EventStatus.PROCESSED,
            attributes={"outcome": Outcome.PING.value, "synced_from_lane": lane},
        )
        logger.info("ping processed; the entity store was not written")
        return
    # Large data travels as a claim check: the entity store keeps the same reference.
    data = message.data if message.data_ref is None else _claimed(message.data_ref)
    try:
        outcome = deps.entities.apply(
            entity_type=message.entity_type.value,
            entity_id=message.entity_id,
            deleted=message.event_type is ErpEventType.DELETE,
            data=data,
            data_ref=message.data_ref,
            source_timestamp=message.source_timestamp,
            event_id=message.event_id,
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in _PERMANENT_ERRORS:
            raise NonRetryableError(f"the entity store refused the write: {code}") from exc
        raise
    events.transition(
        message.event_id,
        EventStatus.PROCESSED,
        attributes={"outcome": outcome.value, "synced_from_lane": lane},
    )
    if outcome is Outcome.STALE_IGNORED:
        count("ErpStaleIgnored")
        logger.info("older than the stored entity; ignored")
    else:
        count("ErpEventSynced", entity=message.entity_type.value)
        logger.info("entity synced", extra={"entity_type": message.entity_type.value})


def _claimed(ref: ClaimRef) -> dict[str, Any]:
    document = json.loads(claim_check.fetch(ref))
    if not isinstance(document, dict):
        raise NonRetryableError(f"s3://{ref.bucket}/{ref.key} does not hold an entity's data")
    return document


handler = worker_handler(lambda: _deps().stage, sync)
