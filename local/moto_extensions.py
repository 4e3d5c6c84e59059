"""What this project needs from moto that moto does not implement yet.

- SQS message move tasks (`StartMessageMoveTask`, `ListMessageMoveTasks`: the native DLQ
  redrive), moving the dead-letter queue's visible messages at once and reporting a COMPLETED
  task.
- DynamoDB's atomic writes: DynamoDB applies each write to an item as one step (a conditional
  write's check with it); moto checks and writes without a lock, so two of the server's request
  threads (or the tests' worker threads) writing one item can both pass a condition, or one can
  lose the other's update. One lock over every write gives DynamoDB's guarantee.
- Lambda's `GetAccountSettings` (what `ops preflight` checks reserved concurrency against): the
  account's concurrency limit is moto's own `MOTO_LAMBDA_CONCURRENCY_QUOTA` (1000 when unset,
  AWS's default), and what is unreserved is that minus every function's reservation.

Applied by the tests and by the local runtime's moto server
(`python -m local.moto_extensions -H 127.0.0.1 -p PORT`), before either starts mocking.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import threading
import time
import uuid
from typing import Any

from moto.awslambda import urls as lambda_urls
from moto.awslambda.responses import LambdaResponse
from moto.core.responses import ActionResult
from moto.dynamodb.models import DynamoDBBackend
from moto.sqs.responses import SQSResponse

DEFAULT_LAMBDA_CONCURRENCY = 1000

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


def _get_account_settings(self: Any) -> str:
    limit = int(os.environ.get("MOTO_LAMBDA_CONCURRENCY_QUOTA", DEFAULT_LAMBDA_CONCURRENCY))
    reserved = sum(
        int(function.reserved_concurrency or 0) for function in self.backend.list_functions()
    )
    return json.dumps(
        {
            "AccountLimit": {
                "ConcurrentExecutions": limit,
                "UnreservedConcurrentExecutions": limit - reserved,
                "CodeSizeUnzipped": 262144000,
                "CodeSizeZipped": 52428800,
                "TotalCodeSize": 80530636800,
            },
            "AccountUsage": {"FunctionCount": len(self.backend.list_functions())},
        }
    )


_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
_WRITE_LOCK = threading.RLock()  # re-entrant: a batch or transaction writes through put_item


def _atomic_dynamodb_writes() -> None:
    for name in _WRITES:
        original = getattr(DynamoDBBackend, name)
        if getattr(original, "atomic", False):
            continue  # applied already

        def atomic(*args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _WRITE_LOCK:
                return __original(*args, **kwargs)

        atomic.atomic = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, atomic)


def apply() -> None:
    _atomic_dynamodb_writes()
    SQSResponse.start_message_move_task = _start_message_move_task  # type: ignore[attr-defined]
    SQSResponse.list_message_move_tasks = _list_message_move_tasks  # type: ignore[attr-defined]
    LambdaResponse.get_account_settings = _get_account_settings  # type: ignore[attr-defined]
    lambda_urls.url_paths.setdefault(
        r"{0}/(?P<api_version>[^/]+)/account-settings/?$", LambdaResponse.dispatch
    )


if __name__ == "__main__":
    from moto.server import main

    apply()
    main(sys.argv[1:])
