"""Find events that stopped moving in any pipeline and put each back on its stage's queue, once.

An event is stuck when it is in a non-terminal status and nothing changed it for longer than the
threshold, counted from its scheduled retry when it waits for one. The first time, it is marked and
re-enqueued (the mark touches `updated_at`, so it gets a new window); if it is stuck again it is
counted, logged and left for an operator: a second automatic re-enqueue would hide the fault.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.dynamo import iso_time
from shared.errors import NotReplayableError
from shared.event_status import IN_FLIGHT_STATUSES
from shared.event_store import EventStore
from shared.observability import logger
from shared.queues import QueueRef

REQUEUE_MARK = "stuck_requeued"


@dataclass
class SweepReport:
    requeued: list[str] = field(default_factory=list)
    still_stuck: list[str] = field(default_factory=list)  # already re-enqueued once
    not_requeueable: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # the enqueue failed; tried again next sweep

    @property
    def stuck(self) -> int:
        return sum(
            len(ids) for ids in (self.requeued, self.still_stuck, self.not_requeueable, self.failed)
        )


def sweep(
    events: EventStore, queues: dict[str, QueueRef], *, now: datetime, stuck_after: timedelta
) -> SweepReport:
    report = SweepReport()
    cutoff = iso_time(now - stuck_after)
    for status in IN_FLIGHT_STATUSES:
        for event in events.not_moved_since(status.value, cutoff):
            _handle(events, queues, event, now, report)
    return report


def _handle(
    events: EventStore,
    queues: dict[str, QueueRef],
    event: dict[str, Any],
    now: datetime,
    report: SweepReport,
) -> None:
    event_id = str(event["event_id"])
    context = {
        "event_id": event_id,
        "pipeline": event.get("pipeline"),
        "status": event.get("status"),
        "updated_at": event.get("updated_at"),
    }
    if REQUEUE_MARK in event:
        report.still_stuck.append(event_id)
        logger.error("event still stuck after its re-enqueue", extra=context)
        return
    mark = {"at": iso_time(now), "from_status": event.get("status")}
    if not events.mark_once(event_id, REQUEUE_MARK, mark, seen_update=str(event["updated_at"])):
        return  # it moved since it was read (or another sweep took it): not stuck
    # Only a stuck event needs the pipelines' message models: not every sweep's cold start.
    from replay import requeue

    try:
        stage = requeue(event, queues)
    except NotReplayableError as exc:
        report.not_requeueable.append(event_id)
        logger.error("stuck event cannot be re-enqueued", extra={**context, "reason": str(exc)})
        return
    except (BotoCoreError, ClientError):
        events.unmark(event_id, REQUEUE_MARK, updated_at=str(event["updated_at"]))
        report.failed.append(event_id)
        logger.exception("stuck event re-enqueue failed; the next sweep retries", extra=context)
        return
    report.requeued.append(event_id)
    logger.warning("stuck event re-enqueued", extra={**context, "stage": stage})
