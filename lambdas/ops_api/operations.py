"""What operators do: stats, health, DLQ redrive and replay. Adapters over SQS, S3 and the events
table; the handler maps the results to HTTP."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

from shared import aws_clients
from shared.dynamo import utc_now
from shared.errors import NotReplayableError
from shared.event_status import IN_FLIGHT_STATUSES, EventStatus
from shared.event_store import EventStore
from shared.queues import QueueRef
from shared.settings import EventsTableSettings

# Health checks must answer fast even when a dependency hangs.
_HEALTH_CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1})
_QUEUE_DEPTH_ATTRIBUTES = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
]


class OpsSettings(EventsTableSettings):
    queues: dict[str, QueueRef]  # stage name → its queue pair
    payload_bucket_name: str


class UnknownQueueError(LookupError):
    pass


class ReplayRefusedError(ValueError):
    pass


def _depth(sqs: Any, url: str) -> dict[str, int]:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=_QUEUE_DEPTH_ATTRIBUTES)[
        "Attributes"
    ]
    return {
        "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
        "in_flight": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        "delayed": int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
    }


# Attributes events may carry that operators want counts by, next to the pipeline.
BREAKDOWNS = {"entity": "entity_type", "priority": "priority"}


def stats(settings: OpsSettings, events: EventStore) -> dict[str, Any]:
    attributes = ["pipeline", *BREAKDOWNS.values()]
    counted = {status.value: events.count_by(status.value, attributes) for status in EventStatus}
    by_status = {status: counts["pipeline"] for status, counts in counted.items()}
    breakdowns: dict[str, dict[str, dict[str, int]]] = {
        f"events_by_{name}": {} for name in BREAKDOWNS
    }
    for status, counts in counted.items():
        for name, attribute in BREAKDOWNS.items():
            for value, n in counts[attribute].items():
                breakdowns[f"events_by_{name}"].setdefault(value, {})[status] = n
    oldest = [events.oldest_received_at(s.value) for s in IN_FLIGHT_STATUSES]
    oldest_at = min((o for o in oldest if o), default=None)
    age = None
    if oldest_at:
        received = datetime.fromisoformat(oldest_at)
        age = round((datetime.now(UTC) - received).total_seconds(), 1)
    sqs = aws_clients.sqs()
    queues = {
        name: {"queue": _depth(sqs, ref.url), "dlq": _depth(sqs, ref.dlq_url)}
        for name, ref in settings.queues.items()
    }
    return {
        "events_by_status": by_status,
        **breakdowns,
        "oldest_in_flight_event": {"received_at": oldest_at, "age_seconds": age},
        "queues": queues,
    }


@lru_cache(maxsize=1)
def _health_clients() -> tuple[Any, Any, Any]:
    return (
        boto3.client("dynamodb", config=_HEALTH_CONFIG),
        boto3.client("sqs", config=_HEALTH_CONFIG),
        boto3.client("s3", config=_HEALTH_CONFIG),
    )


def health(settings: OpsSettings) -> dict[str, Any]:
    dynamodb, sqs, s3 = _health_clients()
    checks: dict[str, Any] = {
        "events_table": lambda: dynamodb.get_item(
            TableName=settings.events_table_name, Key={"event_id": {"S": "health-check"}}
        ),
        "payload_bucket": lambda: s3.head_bucket(Bucket=settings.payload_bucket_name),
    }
    for name, ref in settings.queues.items():
        checks[f"queue:{name}"] = lambda url=ref.url: _depth(sqs, url)
        checks[f"dlq:{name}"] = lambda url=ref.dlq_url: _depth(sqs, url)

    def run(item: tuple[str, Any]) -> tuple[str, dict[str, Any]]:
        name, check = item
        started = time.monotonic()
        try:
            result = check()
            outcome: dict[str, Any] = {"ok": True}
            if name.startswith("dlq:"):
                outcome["depth"] = result["visible"]
        except Exception as exc:  # noqa: BLE001 - a failed check is the answer, not an error
            outcome = {"ok": False, "error": type(exc).__name__}
        outcome["ms"] = round((time.monotonic() - started) * 1000, 1)
        return name, outcome

    with ThreadPoolExecutor(max_workers=max(1, len(checks))) as pool:
        results = dict(pool.map(run, checks.items()))
    dlq_depths = {
        name[4:]: r.get("depth") for name, r in results.items() if name.startswith("dlq:")
    }
    healthy = all(r["ok"] for r in results.values())
    return {
        "status": "healthy" if healthy else "degraded",
        "checks": results,
        "dlq_depths": dlq_depths,
    }


def _queue(settings: OpsSettings, name: str) -> QueueRef:
    if name not in settings.queues:
        raise UnknownQueueError(
            f"unknown queue {name!r}: known are {', '.join(sorted(settings.queues))}"
        )
    return settings.queues[name]


def start_redrive(settings: OpsSettings, name: str, rate: int | None) -> dict[str, Any]:
    """SQS native redrive of the stage's DLQ back to its source queue."""
    ref = _queue(settings, name)
    arguments: dict[str, Any] = {"SourceArn": ref.dlq_arn, "DestinationArn": ref.arn}
    if rate:
        arguments["MaxNumberOfMessagesPerSecond"] = rate
    task = aws_clients.sqs().start_message_move_task(**arguments)
    return {
        "queue": name,
        "task_handle": task["TaskHandle"],
        "source": ref.dlq_arn,
        "destination": ref.arn,
    }


def redrive_progress(settings: OpsSettings, name: str) -> dict[str, Any]:
    ref = _queue(settings, name)
    tasks = aws_clients.sqs().list_message_move_tasks(SourceArn=ref.dlq_arn, MaxResults=10)
    return {
        "queue": name,
        "dlq_depth": _depth(aws_clients.sqs(), ref.dlq_url)["visible"],
        "tasks": [
            {
                "task_handle": t.get("TaskHandle"),
                "status": t.get("Status"),
                "moved": t.get("ApproximateNumberOfMessagesMoved"),
                "to_move": t.get("ApproximateNumberOfMessagesToMove"),
                "started_at": t.get("StartedTimestamp"),
                "failure_reason": t.get("FailureReason"),
            }
            for t in tasks.get("Results", [])
        ],
    }


def replay(settings: OpsSettings, events: EventStore, event_id: str, force: bool) -> dict[str, Any]:
    event = events.get(event_id)
    if event is None:
        raise LookupError(f"no event {event_id}")
    status = event.get("status")
    if status != EventStatus.DEAD_LETTERED.value and not force:
        raise ReplayRefusedError(
            f"event {event_id} is {status}, not DEAD_LETTERED; add force=true to replay it anyway"
        )
    # Imported here, not at cold start: the replay rebuilds every pipeline's messages (the ERP
    # entity models among them), which the other operations never need.
    from replay import requeue

    try:
        stage = requeue(event, settings.queues)
    except NotReplayableError as exc:
        raise ReplayRefusedError(str(exc)) from exc
    replayed = {"stage": stage, "at": utc_now(), "forced": force, "from_status": status}
    events.note(event_id, "last_replay", replayed)
    return {"event_id": event_id, "stage": stage, "queue": stage, "status": status}
