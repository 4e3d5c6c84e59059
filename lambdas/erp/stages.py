"""The ERP pipeline's worker stage, given its adapters: `Sync` applies one ERP event to the entity
store (ordering-safe) and marks it PROCESSED, synced or stale_ignored; `entity_key` groups a
batch's records by entity, so that one entity's updates apply in order.

Every attempt is in the event's history (PROCESSING; RETRYING with the next retry time). A ping
(`ops smoke`) passes without writing the entity store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import ClientError

from erp.entities import ErpEventType
from erp.messages import SYNC_STAGE, ErpSyncRequested
from erp.store import EntityStore, Outcome
from shared import claim_check
from shared.batch import Attempt
from shared.claim_check import ClaimRef
from shared.errors import NonRetryableError
from shared.event_status import EventStatus
from shared.event_store import EventStore
from shared.failure_policy import Stage
from shared.metric_names import Metric
from shared.metrics import count
from shared.observability import logger
from shared.sources import Pipeline

SYNC = Stage(
    Pipeline.ERP_ENTITY_SYNC,
    SYNC_STAGE,
    dead_letter_metric=Metric.ERP_EVENT_DEAD_LETTERED,
    retried_metric=Metric.ERP_EVENT_RETRIED,
)

# DynamoDB refusals that no retry can fix.
_PERMANENT_ERRORS = frozenset({"ValidationException", "ItemCollectionSizeLimitExceededException"})


@dataclass(frozen=True)
class Sync:
    entities: EntityStore
    events: EventStore

    def run(self, message: ErpSyncRequested, attempt: Attempt, *, lane: str) -> None:
        """`lane`: which priority lane carried the message (operators check the mapping held)."""
        if not attempt.final:  # a final attempt is already marked; PROCESSING would unmark it
            self.events.transition(
                message.event_id,
                EventStatus.PROCESSING,
                stage=SYNC_STAGE,
                detail=f"attempt {attempt.number} of {attempt.of} from the {lane} lane",
            )
        if message.event_type is ErpEventType.PING:
            self._processed(message, Outcome.PING, lane)
            logger.info("ping processed; the entity store was not written")
            return
        outcome = self._apply(message)
        self._processed(message, outcome, lane)
        if outcome is Outcome.STALE_IGNORED:
            count(Metric.ERP_STALE_IGNORED)
            logger.info("older than the stored entity; ignored")
        else:
            count(Metric.ERP_EVENT_SYNCED, entity=message.entity_type.value)
            logger.info("entity synced", extra={"entity_type": message.entity_type.value})

    def _apply(self, message: ErpSyncRequested) -> Outcome:
        # Large data travels as a claim check: the entity store keeps the same reference.
        data = message.data if message.data_ref is None else _claimed(message.data_ref)
        try:
            return self.entities.apply(
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

    def _processed(self, message: ErpSyncRequested, outcome: Outcome, lane: str) -> None:
        self.events.transition(
            message.event_id,
            EventStatus.PROCESSED,
            attributes={"outcome": outcome.value, "synced_from_lane": lane},
        )


def entity_key(record: SQSRecord) -> str | None:
    """The entity a sync message updates: the updates of one entity in a batch apply one after
    another, in the order they were sent (`ConcurrentBatchProcessor` groups by this). A message
    that names none is malformed and fails alone."""
    try:
        body = json.loads(record.body)
    except (TypeError, ValueError):
        return None
    if not isinstance(body, dict):
        return None
    entity_type, entity_id = body.get("entity_type"), body.get("entity_id")
    if not isinstance(entity_type, str) or not isinstance(entity_id, str):
        return None
    return f"{entity_type}#{entity_id}"


def _claimed(ref: ClaimRef) -> dict[str, Any]:
    document = json.loads(claim_check.fetch(ref))
    if not isinstance(document, dict):
        raise NonRetryableError(f"s3://{ref.bucket}/{ref.key} does not hold an entity's data")
    return document
