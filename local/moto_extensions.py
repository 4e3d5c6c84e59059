"""What this project needs from moto that moto does not implement yet.

SQS message move tasks (`StartMessageMoveTask`, `ListMessageMoveTasks`: the native DLQ redrive)
are added to moto's SQS responses, moving the dead-letter queue's visible messages at once and
reporting a COMPLETED task. Applied by the tests and by the local runtime's moto server
(`python -m local.moto_extensions -H 127.0.0.1 -p PORT`).
"""

from __future__ import annotations

import base64
import json
import sys
import time
import uuid
from typing import Any

from moto.core.responses import ActionResult
from moto.sqs.responses import SQSResponse

_TASKS: dict[str, list[dict[str, Any]]] = {}


def _queue_by_arn(response: Any, arn: str) -> Any:
    for queue in response.sqs_backend.queues.values():
        if queue.queue_arn == arn:
            return queue
    raise ValueError(f"no queue {arn}")


def _start_message_move_task(self: Any) -> ActionResult:
    source_arn = self._get_param("SourceArn")
    destination_arn = self._get_param("DestinationArn")
    dlq = _queue_by_arn(self, source_arn)
    if destination_arn is None:  # back to the queue that dead-letters into this one
        sources = [
            q
            for q in self.sqs_backend.queues.values()
            if (q.redrive_policy or {}).get("deadLetterTargetArn") == source_arn
        ]
        destination_arn = sources[0].queue_arn
    destination = _queue_by_arn(self, destination_arn)
    moved = 0
    for message in [m for m in dlq._messages if m.visible]:
        self.sqs_backend.send_message(
            destination.name, message.body, message_attributes=message.message_attributes
        )
        dlq._messages.remove(message)
        moved += 1
    handle = base64.b64encode(
        json.dumps({"taskId": str(uuid.uuid4()), "sourceArn": source_arn}).encode()
    ).decode()
    _TASKS.setdefault(source_arn, []).append(
        {
            "TaskHandle": handle,
            "Status": "COMPLETED",
            "SourceArn": source_arn,
            "DestinationArn": destination_arn,
            "ApproximateNumberOfMessagesMoved": moved,
            "ApproximateNumberOfMessagesToMove": moved,
            "StartedTimestamp": int(time.time() * 1000),
        }
    )
    return ActionResult({"TaskHandle": handle})


def _list_message_move_tasks(self: Any) -> ActionResult:
    source_arn = self._get_param("SourceArn")
    limit = int(self._get_param("MaxResults") or 1)
    return ActionResult({"Results": list(reversed(_TASKS.get(source_arn, [])))[:limit]})


def apply() -> None:
    SQSResponse.start_message_move_task = _start_message_move_task  # type: ignore[attr-defined]
    SQSResponse.list_message_move_tasks = _list_message_move_tasks  # type: ignore[attr-defined]


if __name__ == "__main__":
    from moto.server import main

    apply()
    main(sys.argv[1:])
