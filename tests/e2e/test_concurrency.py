"""The local runtime under a burst of concurrent deliveries, as a busy sender loads API Gateway
and Lambda: no connection is refused or reset, a duplicate sent concurrently is answered as
the platform answers it (409 while the first is being processed, which a sender retries), and
every event is processed and delivered to the internal API once."""

from __future__ import annotations

import collections
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.conditions import Attr

from local.send import http_request, signed_headers
from tests.support.local_runtime import deliver, table, wait_until_terminal
from tests.support.signing import order_webhook_body

CONNECTIONS = 50
RETRY_FOR_SECONDS = 60
PROCESSED_WAIT = 120  # a burst queues behind a few execution environments per function


@dataclass
class Sent:
    """What one sender saw: every status until it was accepted, the last answer, or the
    connection error that ended it."""

    statuses: list[int] = field(default_factory=list)
    answer: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def send_until_accepted(runtime: dict[str, Any], body: bytes, headers: dict[str, str]) -> Sent:
    """POST; a 409 (the same delivery is being processed) is retried after its Retry-After."""
    sent = Sent()
    deadline = time.monotonic() + RETRY_FOR_SECONDS
    while True:
        try:
            status, answer = deliver(runtime, body, headers)
        except OSError as exc:  # refused, reset, timed out: what the burst must never see
            sent.error = f"{type(exc).__name__}: {exc}"
            return sent
        sent.statuses.append(status)
        sent.answer = answer
        if status != 409 or time.monotonic() > deadline:
            return sent
        time.sleep(1)  # the 409's Retry-After, as a sender honours it (not a wait on the runtime)


def burst(runtime: dict[str, Any], deliveries: list[tuple[bytes, dict[str, str]]]) -> list[Sent]:
    with ThreadPoolExecutor(CONNECTIONS) as pool:
        return list(pool.map(lambda d: send_until_accepted(runtime, *d), deliveries))


def received_by_key(runtime: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The internal API stand-in's deliveries, by Idempotency-Key (the event id)."""
    _, text = http_request("GET", runtime["internal_api_url"] + "/_received", None, {})
    by_key: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for delivery in json.loads(text):
        by_key[delivery["idempotency_key"]].append(delivery)
    return by_key


def events_of_order(runtime: dict[str, Any], order_id: str) -> list[dict[str, Any]]:
    events = table(runtime, "EventsTable")
    items: list[dict[str, Any]] = []
    scan: dict[str, Any] = {"FilterExpression": Attr("order_id").eq(order_id)}
    while True:
        page = events.scan(**scan)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_fifty_concurrent_deliveries_of_one_webhook_make_one_event(
    runtime: dict[str, Any],
) -> None:
    # Given one signed delivery (one webhook-id, one body), sent on 50 connections at once
    body = order_webhook_body("QO-860001")
    headers = signed_headers(body, runtime["signing_secrets"][0])

    sent = burst(runtime, [(body, headers)] * CONNECTIONS)

    # Then no connection failed, and every answer is one the platform gives a duplicate
    assert [s.error for s in sent if s.error] == []
    statuses = collections.Counter(status for s in sent for status in s.statuses)
    assert set(statuses) <= {200, 202, 409}, statuses
    finals = [s.statuses[-1] for s in sent]
    assert finals.count(202) == 1, statuses  # the one that was accepted...
    assert finals.count(200) == CONNECTIONS - 1, statuses  # ...and the duplicates of it
    assert all(s.answer["data"]["duplicate"] for s in sent if s.statuses[-1] == 200)
    [event_id] = {s.answer["data"]["event_id"] for s in sent}

    # And there is one event, processed and delivered to the internal API once
    [stored] = events_of_order(runtime, "QO-860001")
    assert stored["event_id"] == event_id
    assert wait_until_terminal(runtime, event_id, wait_seconds=PROCESSED_WAIT)["status"] == (
        "PROCESSED"
    )
    assert [d["replay"] for d in received_by_key(runtime)[event_id]].count(False) == 1


def test_fifty_concurrent_deliveries_of_fifty_webhooks_make_fifty_events(
    runtime: dict[str, Any],
) -> None:
    # Given 50 different orders, each signed with its own webhook-id, sent at once
    secret = runtime["signing_secrets"][0]
    bodies = [order_webhook_body(f"QO-8610{n:02d}") for n in range(CONNECTIONS)]

    sent = burst(runtime, [(body, signed_headers(body, secret)) for body in bodies])

    # Then every one is accepted on its first try, as an event of its own
    assert [s.error for s in sent if s.error] == []
    assert [s.statuses for s in sent] == [[202]] * CONNECTIONS
    event_ids = {s.answer["data"]["event_id"] for s in sent}
    assert len(event_ids) == CONNECTIONS

    # And each is processed and delivered to the internal API once
    finals = [
        wait_until_terminal(runtime, event_id, wait_seconds=PROCESSED_WAIT)["status"]
        for event_id in event_ids
    ]
    assert finals == ["PROCESSED"] * CONNECTIONS
    received = received_by_key(runtime)
    assert {
        event_id: [d["replay"] for d in received[event_id]].count(False) for event_id in event_ids
    } == dict.fromkeys(event_ids, 1)
