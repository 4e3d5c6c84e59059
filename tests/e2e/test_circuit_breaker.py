"""The circuit breaker on the local runtime: the internal API down for longer than the
processing stage's whole retry budget, and nothing is dead-lettered; and an operator opening
and closing a breaker by hand."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from local.send import http_request
from tests.support.local_runtime import (
    add_fault,
    deliver,
    event,
    named,
    run,
    sqs,
    wait_until_terminal,
)
from tests.support.signing import order_webhook_body
from tests.support.waiting import wait_for

PROCESSED = frozenset({"PROCESSED"})
# The dev processing schedule: 8 receives, 1 + 2 + 5 + 10 + 20 + 40 + 60 s apart (+ up to 20 %
# jitter): without the breaker, a message failing throughout is dead-lettered within ~166 s.
RETRY_BUDGET_SECONDS = int((1 + 2 + 5 + 10 + 20 + 40 + 60) * 1.2)
OUTAGE_SECONDS = RETRY_BUDGET_SECONDS + 20
RECOVERY_SECONDS = 90


def _breakers(runtime: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, shown = run(runtime, capsys, "--json", "breaker", "status")
    assert code == 0, shown
    return {b["peer"]: b for b in json.loads(shown)}


def _dlq_depth(runtime: dict[str, Any]) -> int:
    attributes = sqs(runtime).get_queue_attributes(
        QueueUrl=named(runtime["dead_letter_queues"], "ProcessingQueue/Dlq"),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def test_an_internal_api_outage_past_the_retry_budget_dead_letters_nothing(
    runtime: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    internal = runtime["internal_api_url"]
    dlq_before = _dlq_depth(runtime)
    # Given the internal orders API answers 503 to every order for longer than the retry budget
    add_fault(runtime, peer="internal_api", path="/orders", method="POST", status=503)
    down_since = time.monotonic()
    orders = [f"QO-88{n:04d}" for n in range(8)]  # unique in the shared runtime
    event_ids = [deliver(runtime, order_webhook_body(o))[1]["data"]["event_id"] for o in orders]

    # When the processing stage's failures pass the threshold, its breaker opens and its
    # mapping is paused
    opened = wait_for(
        lambda: _breakers(runtime, capsys)["internal_api"],
        lambda b: b["state"] == "open" and set(b["mappings"].values()) == {"Disabled"},
        what="the internal API's breaker to open and pause the processing mapping",
        timeout=60,
    )
    assert not opened["manual"]
    assert "503" in opened["reason"]
    # The outage is the scenario: it outlasts the retry budget whatever the pipeline does.
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_since)))
    during = [event(runtime, e)["status"] for e in event_ids]
    assert "DEAD_LETTERED" not in during
    assert _breakers(runtime, capsys)["internal_api"]["state"] == "open"
    http_request("DELETE", internal + "/_faults", None, {})

    # Then the probe closes the breaker, the mapping resumes, and every order is processed
    finals = [wait_until_terminal(runtime, e, PROCESSED, RECOVERY_SECONDS) for e in event_ids]
    for final in finals:
        assert "DEAD_LETTERED" not in [h["status"] for h in final["status_history"]]
    assert _dlq_depth(runtime) == dlq_before
    closed = _breakers(runtime, capsys)["internal_api"]
    assert closed["state"] == "closed"
    assert set(closed["mappings"].values()) == {"Enabled"}


def test_an_operator_opens_a_breaker_and_only_closing_it_resumes_the_stage(
    runtime: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an operator opens the internal API's breaker by hand
    code, shown = run(runtime, capsys, "breaker", "open", "internal_api", "--reason", "e2e")
    assert code == 0, shown
    event_id = deliver(runtime, order_webhook_body("QO-870001"))[1]["data"]["event_id"]
    wait_for(
        lambda: event(runtime, event_id),
        lambda found: found.get("status") == "DOWNLOADED",
        what=f"event {event_id} to be downloaded",
        timeout=45,
    )

    # When the probe has run a few times (every 2 s here) against a healthy peer
    time.sleep(8)

    # Then the breaker is still open, the stage paused, and the order waits, downloaded
    breaker = _breakers(runtime, capsys)["internal_api"]
    assert breaker["state"] == "open"
    assert breaker["manual"]
    assert set(breaker["mappings"].values()) == {"Disabled"}
    assert event(runtime, event_id)["status"] == "DOWNLOADED"

    # And closing it resumes the stage: the order is processed
    code, shown = run(runtime, capsys, "breaker", "close", "internal_api")
    assert code == 0, shown
    assert "closed" in shown
    assert wait_until_terminal(runtime, event_id, PROCESSED)["status"] == "PROCESSED"
