"""Every real change arrives, on the local runtime: ERP changes back to an earlier state, a worker
killed on its final attempt, an outage longer than a few retries, and Svix-named headers."""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.send import http_request
from tests.support.local_runtime import (
    add_fault,
    deliver,
    deliveries_for,
    entities_table,
    event,
    faults_consumed,
    function_state,
    named,
    run,
    send,
    sqs,
    wait_until_terminal,
)
from tests.support.signing import order_webhook_body, signed_headers
from tests.support.waiting import wait_for

PROCESSED = frozenset({"PROCESSED"})
# Event times inside the env's plausible window, a minute apart per step.
_HOUR_AGO = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
# The dev processing schedule waits 1, 2, 5, 10, 20, 40, 60 s (+ up to 20 %) between attempts.
OUTAGE_SECONDS = 60
RECOVERY_SECONDS = 150


def _erp_steps(
    runtime: dict[str, Any], route: str, steps: list[dict[str, Any]]
) -> list[tuple[dict[str, Any], str]]:
    """Send each step after the previous one was processed; (document, event id) per step."""
    key = runtime["erp_webhook_keys"][0]
    sent = []
    for step in steps:
        status, answer = send(runtime, route, step, key)
        assert status == 202, (step, answer)
        event_id = answer["data"]["event_id"]
        assert wait_until_terminal(runtime, event_id)["status"] == "PROCESSED"
        sent.append((step, event_id))
    return sent


def _step(entity: str, entity_id: str, kind: str, data: dict[str, Any], minute: int) -> Any:
    return {
        "event_type": kind,
        "entity_type": entity,
        "entity_id": entity_id,
        "data": data,
        "occurred_at": (_HOUR_AGO + timedelta(minutes=minute)).isoformat(),
    }


def test_erp_changes_back_to_an_earlier_state_all_arrive(runtime: dict[str, Any]) -> None:
    product = [{"item_id": "I-e2e", "name": name} for name in ("A", "B", "A")]
    stock = [{"item_id": "I-e2e", "warehouse_id": "W-1", "quantity": q} for q in (5, 4, 5)]
    customer = {"contact_id": "C-e2e", "contact_name": "Back again"}
    flows = {
        ("products", "product", "e2e-revert-product"): [
            _step("product", "e2e-revert-product", "update", data, n)
            for n, data in enumerate(product)
        ],
        ("stock", "stock", "e2e-revert-stock"): [
            _step("stock", "e2e-revert-stock", "update", data, n) for n, data in enumerate(stock)
        ],
        ("customers", "customer", "e2e-revert-customer"): [
            _step("customer", "e2e-revert-customer", kind, customer, n)
            for n, kind in enumerate(("create", "delete", "create"))
        ],
    }
    table = entities_table(runtime)
    key = runtime["erp_webhook_keys"][0]
    for (route, entity, entity_id), steps in flows.items():
        # When each step is sent after the previous one was processed
        sent = _erp_steps(runtime, route, steps)

        # Then every step is an event of its own and the entity ends at the last step's state
        assert len({event_id for _, event_id in sent}) == 3, route
        stored = table.get_item(Key={"entity_type": entity, "entity_id": entity_id})["Item"]
        assert stored["last_event_id"] == sent[-1][1], route
        assert stored["deleted"] is False, route
        assert json.loads(json.dumps(stored["data"], default=float)) == steps[-1]["data"], route

        # And a true re-delivery of any step is still a duplicate of that step's event
        for step, event_id in sent:
            status, answer = send(runtime, route, step, key)
            assert (status, answer["data"]["duplicate"]) == (200, True), (route, answer)
            assert answer["data"]["event_id"] == event_id, route


def _bodies(runtime: dict[str, Any], queue_url: str) -> str:
    """Every visible message body of a queue, left visible (a look, not a receive)."""
    messages = sqs(runtime).receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0
    )
    return "\n".join(m["Body"] for m in messages.get("Messages", []))


def test_a_worker_killed_on_the_final_attempt_leaves_the_event_dead_lettered(
    runtime: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an order whose first two downloads fail (3 HTTP tries each) and whose third and
    # final download stalls in the marketplace
    add_fault(runtime, path="/orders/QO-820001", method="GET", status=503, count=6)
    add_fault(runtime, path="/orders/QO-820001", method="GET", timeout_seconds=30, count=1)
    _, answer = deliver(runtime, order_webhook_body("QO-820001"))
    event_id = answer["data"]["event_id"]
    faults_consumed(runtime["marketplace_url"])
    worker = function_state(runtime, "DownloadWorker")

    # When the download worker is killed during that final attempt
    os.kill(worker["pid"], signal.SIGKILL)

    # Then the event says DEAD_LETTERED, with stage and reason, and operators list it
    found = event(runtime, event_id)
    assert found["status"] == "DEAD_LETTERED"
    assert (found["dead_letter"]["stage"], found["dead_letter"]["attempts"]) == ("download", 3)
    assert "final attempt (3 of 3)" in found["dead_letter"]["reason"]
    assert [h["status"] for h in found["status_history"]].count("RETRYING") == 2
    code, listed = run(runtime, capsys, "--json", "events", "list", "--status", "DEAD_LETTERED")
    assert code == 0
    assert event_id in [e["event_id"] for e in json.loads(listed)["events"]]
    # ... by the time SQS has moved its message to the DLQ
    dlq = named(runtime["dead_letter_queues"], "DownloadQueue/Dlq")
    wait_for(
        lambda: _bodies(runtime, dlq),
        lambda bodies: event_id in bodies,
        what="the killed attempt's message to reach the download DLQ",
        timeout=30,
    )
    assert event(runtime, event_id)["status"] == "DEAD_LETTERED"

    # When an operator redrives the DLQ, Then the event is processed
    code, redriven = run(runtime, capsys, "dlq", "redrive", "download")
    assert code == 0, redriven
    final = wait_until_terminal(runtime, event_id, PROCESSED)
    assert [h["status"] for h in final["status_history"]][-3:] == [
        "DEAD_LETTERED", "DOWNLOADED", "PROCESSED"
    ]  # fmt: skip
    assert function_state(runtime, "DownloadWorker")["pid"] != worker["pid"]


def test_an_internal_api_outage_of_a_minute_is_ridden_out_without_an_operator(
    runtime: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    internal = runtime["internal_api_url"]
    # Given the internal orders API answers 503 to everything for a minute
    add_fault(runtime, peer="internal_api", path="/orders", method="POST", status=503)
    down_since = time.monotonic()
    orders = [f"QO-83{n:04d}" for n in range(12)]
    event_ids = [deliver(runtime, order_webhook_body(o))[1]["data"]["event_id"] for o in orders]
    # The outage itself is the scenario: it lasts a minute whatever the pipeline does meanwhile.
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_since)))
    http_request("DELETE", internal + "/_faults", None, {})

    # Then every order is processed once the API is back, none was dead-lettered
    finals = [wait_until_terminal(runtime, e, PROCESSED, RECOVERY_SECONDS) for e in event_ids]
    retried = []
    for final in finals:
        statuses = [h["status"] for h in final["status_history"]]
        assert "DEAD_LETTERED" not in statuses, final["event_id"]
        # An event received after the circuit breaker paused the stage was never attempted
        # during the outage: it has no failed attempt to show.
        retries = [h for h in final["status_history"] if h["status"] == "RETRYING"]
        assert {h["stage"] for h in retries} <= {"processing"}
        assert all("503" in h["detail"] and "next attempt at" in h["detail"] for h in retries)
        retried += [final["event_id"]] if retries else []
        [created] = [d for d in deliveries_for(runtime, final["event_id"]) if not d["replay"]]
        assert created["order"]["external_order_id"] in orders
    assert retried  # the outage was met, not missed
    dlq = named(runtime["dead_letter_queues"], "ProcessingQueue/Dlq")
    in_dlq = _bodies(runtime, dlq)
    assert not [e for e in event_ids if e in in_dlq]

    # And an operator sees each failed attempt with its reason and next attempt time
    code, shown = run(runtime, capsys, "events", "show", retried[0])
    assert code == 0
    rows = [line for line in shown.splitlines() if " RETRYING " in line]
    assert rows
    assert all("processing" in row and "next attempt at" in row for row in rows)


def test_a_delivery_with_svix_header_names_is_accepted_and_deduplicated(
    runtime: dict[str, Any],
) -> None:
    body = order_webhook_body("QO-840001")
    svix = {
        k.replace("webhook-", "svix-"): v
        for k, v in signed_headers(body, runtime["signing_secrets"][0]).items()
    }
    first_status, first = deliver(runtime, body, svix)
    again_status, again = deliver(runtime, body, svix)

    assert (first_status, again_status) == (202, 200)
    assert again["data"]["event_id"] == first["data"]["event_id"]
    final = wait_until_terminal(runtime, first["data"]["event_id"])
    assert final["status"] == "PROCESSED"
    assert final["webhook_id"] == svix["svix-id"]
