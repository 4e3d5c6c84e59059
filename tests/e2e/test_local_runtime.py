"""End to end against the running local runtime: real HTTP, real processes, moto server."""

from __future__ import annotations

import json
import os
import signal
from typing import Any

from local.send import http_request, signed_headers
from tests.support.local_runtime import (
    add_fault,
    deliver,
    deliveries_for,
    faults_consumed,
    function_state,
    named,
    sqs,
    wait_until_terminal,
)
from tests.support.signing import order_webhook_body
from tests.support.waiting import wait_for


def test_a_signed_order_is_processed_and_posted_exactly_once(runtime: dict[str, Any]) -> None:
    status, answer = deliver(runtime, order_webhook_body("QO-800001"))
    assert status == 202
    event_id = answer["data"]["event_id"]

    final = wait_until_terminal(runtime, event_id)

    assert final["status"] == "PROCESSED"
    assert [h["status"] for h in final["status_history"]] == [
        "RECEIVED", "QUEUED", "DOWNLOADED", "PROCESSED"
    ]  # fmt: skip
    assert final["s3_key"] == f"qualia/orders/QO-800001/{event_id}.json"
    [delivery] = deliveries_for(runtime, event_id)
    assert delivery["order"]["external_order_id"] == "QO-800001"


def test_a_duplicate_delivery_is_acknowledged_once(runtime: dict[str, Any]) -> None:
    body = order_webhook_body("QO-800002")
    headers = signed_headers(body, runtime["signing_secrets"][0])
    first_status, first = deliver(runtime, body, headers)
    second_status, second = deliver(runtime, body, headers)

    assert (first_status, second_status) == (202, 200)
    assert second["data"]["duplicate"] is True
    assert second["data"]["event_id"] == first["data"]["event_id"]
    wait_until_terminal(runtime, first["data"]["event_id"])
    assert len(deliveries_for(runtime, first["data"]["event_id"])) == 1


def test_a_bad_signature_is_refused_in_the_envelope(runtime: dict[str, Any]) -> None:
    body = order_webhook_body("QO-800003")
    headers = {
        **signed_headers(body, runtime["signing_secrets"][0]),
        "webhook-signature": "v1,AAAA",
    }
    status, answer = deliver(runtime, body, headers)
    assert status == 401
    assert answer["status"] == "failure"
    assert answer["error"]["code"] == "AUTH_ERROR"


def test_an_unknown_route_gets_the_gateway_envelope(runtime: dict[str, Any]) -> None:
    status, text = http_request("GET", runtime["api_url"] + "nope", None, {})
    assert status == 403
    assert json.loads(text)["error"]["code"] == "MISSING_AUTHENTICATION_TOKEN"


def test_a_download_failing_twice_then_succeeding_ends_processed(runtime: dict[str, Any]) -> None:
    # Two whole SQS deliveries fail: each makes 1 + max_retries (2 in dev) HTTP attempts.
    add_fault(runtime, path="/orders/QO-800004", method="GET", status=503, count=6)
    status, answer = deliver(runtime, order_webhook_body("QO-800004"))
    assert status == 202

    final = wait_until_terminal(runtime, answer["data"]["event_id"])

    assert final["status"] == "PROCESSED"
    _, faults = http_request("GET", runtime["marketplace_url"] + "/_faults", None, {})
    assert json.loads(faults) == []  # all six failures were served


def test_a_non_retryable_failure_is_dead_lettered_into_the_dlq(runtime: dict[str, Any]) -> None:
    # Given the marketplace serves this order with a state that is no US jurisdiction
    status, _ = http_request(
        "PUT",
        runtime["marketplace_url"] + "/_orders/QO-800005",
        json.dumps(_with_state("QO-800005", "Atlantis")).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 204
    _, answer = deliver(runtime, order_webhook_body("QO-800005"))
    event_id = answer["data"]["event_id"]

    final = wait_until_terminal(runtime, event_id)

    assert final["status"] == "DEAD_LETTERED"
    assert final["dead_letter"]["stage"] == "processing"
    assert "Atlantis" in final["dead_letter"]["reason"]
    dlq = named(runtime["dead_letter_queues"], "ProcessingQueue/Dlq")
    bodies = [
        json.loads(m["Body"])
        for m in sqs(runtime)
        .receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)
        .get("Messages", [])
    ]
    assert event_id in [b["event_id"] for b in bodies]


def _with_state(order_id: str, state: str) -> dict[str, Any]:
    from local.peers import marketplace_order

    document = marketplace_order(order_id)
    document["property"]["address"]["state"] = state
    return document


def test_a_function_process_killed_mid_batch_loses_no_event(runtime: dict[str, Any]) -> None:
    # Given the download worker busy on a batch (the marketplace stalls 3s on one order)
    add_fault(runtime, path="/orders/QO-800010", method="GET", timeout_seconds=3, count=1)
    event_ids = [
        deliver(runtime, order_webhook_body(f"QO-80001{n}"))[1]["data"]["event_id"]
        for n in range(3)
    ]
    faults_consumed(runtime["marketplace_url"], 20)  # used up once the stalled request started
    worker = function_state(runtime, "DownloadWorker")

    # When its process is killed mid-invoke
    os.kill(worker["pid"], signal.SIGKILL)

    # Then it is restarted, the batch's messages reappear, and every event still completes
    finals = [wait_until_terminal(runtime, event_id)["status"] for event_id in event_ids]
    assert finals == ["PROCESSED"] * 3
    for event_id in event_ids:
        # A record in flight when the process died is delivered again (at least once); its
        # Idempotency-Key makes the internal API create the order once and replay the rest.
        deliveries = deliveries_for(runtime, event_id)
        assert [d["replay"] for d in deliveries].count(False) == 1
        assert len({d["id"] for d in deliveries}) == 1
    after = function_state(runtime, "DownloadWorker")
    assert after["pid"] != worker["pid"]
    assert after["restarts"] >= 1


def test_retries_running_out_end_in_the_dlq_through_the_redrive_policy(
    runtime: dict[str, Any],
) -> None:
    # Given the marketplace fails this order on every attempt (3 deliveries x 3 HTTP attempts)
    add_fault(runtime, path="/orders/QO-800020", method="GET", status=503, count=50)
    _, answer = deliver(runtime, order_webhook_body("QO-800020"))
    event_id = answer["data"]["event_id"]

    # When SQS has delivered it maxReceiveCount (3 in dev) times
    final = wait_until_terminal(runtime, event_id)

    # Then the event is DEAD_LETTERED on the last receive and moto moves the message to the DLQ
    assert final["status"] == "DEAD_LETTERED"
    assert final["dead_letter"]["reason"].startswith("retries exhausted after 3 attempts")
    dlq = named(runtime["dead_letter_queues"], "DownloadQueue/Dlq")

    def in_dlq() -> list[str]:
        received = sqs(runtime).receive_message(
            QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0
        )
        return [m["Body"] for m in received.get("Messages", []) if event_id in m["Body"]]

    wait_for(in_dlq, bool, what="the redrive policy to move it to the download DLQ", timeout=15)
    http_request("DELETE", runtime["marketplace_url"] + "/_faults", None, {})
