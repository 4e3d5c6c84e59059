"""Put an event back on the queue of the stage it stopped at, for any pipeline.

Each pipeline says which stage an event restarts at and rebuilds that stage's message from what
the event stored; the ops API (operator replay) and the stuck-event sweeper both go through here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from pydantic import BaseModel

from erp import replay as erp_replay
from orders import replay as order_replay
from shared import aws_clients
from shared.errors import NotReplayableError
from shared.message_attributes import trace_attributes
from shared.queues import QueueRef
from shared.sources import Pipeline


class Replayer(NamedTuple):
    stage_of: Callable[[dict[str, Any]], str]
    message_for: Callable[[dict[str, Any], str], BaseModel]


# The catalog's batches are redriven from their DLQ, never replayed: they are not events.
REPLAYERS: dict[str, Replayer] = {
    Pipeline.MARKETPLACE_ORDERS.value: Replayer(
        order_replay.stage_to_replay, order_replay.replay_message
    ),
    Pipeline.ERP_ENTITY_SYNC.value: Replayer(erp_replay.stage_to_replay, erp_replay.replay_message),
}


def requeue(event: dict[str, Any], queues: dict[str, QueueRef]) -> str:
    """Send the message that restarts `event` at its stage; returns the stage (a `queues` key).

    Raises NotReplayableError when the pipeline, the stage's queue or the stored data is missing.
    """
    pipeline = str(event.get("pipeline"))
    if pipeline not in REPLAYERS:
        raise NotReplayableError(f"pipeline {pipeline!r} has no replay")
    replayer = REPLAYERS[pipeline]
    stage = replayer.stage_of(event)
    if stage not in queues:
        raise NotReplayableError(f"no queue for stage {stage!r}")
    message = replayer.message_for(event, stage)
    event_id = str(event["event_id"])
    aws_clients.sqs().send_message(
        QueueUrl=queues[stage].url,
        MessageBody=message.model_dump_json(),
        MessageAttributes=trace_attributes(event_id, str(event.get("correlation_id") or event_id)),
    )
    return stage
