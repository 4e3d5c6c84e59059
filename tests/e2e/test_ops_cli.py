"""The `ops` command line against the running local runtime."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.local_runtime import add_fault, deliver, run, wait_until_terminal
from tests.support.signing import order_webhook_body

PROCESSED = frozenset({"PROCESSED"})


def dead_lettered_download(runtime: dict[str, Any], order_id: str) -> str:
    """An event dead-lettered at download: the marketplace answers 404 once, then knows it."""
    add_fault(runtime, path=f"/orders/{order_id}", method="GET", status=404, count=1)
    _, answer = deliver(runtime, order_webhook_body(order_id))
    event_id = str(answer["data"]["event_id"])
    assert wait_until_terminal(runtime, event_id)["status"] == "DEAD_LETTERED"
    return event_id


def test_status_reports_health_events_and_queues(
    runtime: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(runtime, capsys, "--json", "status")
    assert code == 0
    body = json.loads(out)
    assert body["health"]["status"] == "healthy"
    assert set(body["stats"]["queues"]) == {
        "download", "processing", "erp-high", "erp-standard", "erp-low", "enrichment",
    }  # fmt: skip

    code, text = run(runtime, capsys, "status")
    assert code == 0
    assert text.startswith("local (WebhookPipeline-dev): HEALTHY")
    assert "DLQ visible" in text


def test_a_dead_lettered_event_is_shown_then_redriven_to_completion(
    runtime: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    event_id = dead_lettered_download(runtime, "QO-900001")

    code, shown = run(runtime, capsys, "events", "show", event_id)
    assert code == 0
    assert "DEAD_LETTERED" in shown
    assert "dead letter:" in shown

    code, listed = run(runtime, capsys, "--json", "events", "list", "--status", "DEAD_LETTERED")
    assert code == 0
    assert event_id in [e["event_id"] for e in json.loads(listed)["events"]]

    code, redriven = run(runtime, capsys, "dlq", "redrive", "download")
    assert code == 0
    assert "COMPLETED" in redriven
    assert wait_until_terminal(runtime, event_id, PROCESSED)["status"] == "PROCESSED"


def test_a_dead_lettered_event_is_replayed_to_completion(
    runtime: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    event_id = dead_lettered_download(runtime, "QO-900002")

    code, out = run(runtime, capsys, "events", "replay", event_id)

    assert code == 0
    assert f"replayed {event_id} at stage download (was DEAD_LETTERED)" in out
    assert wait_until_terminal(runtime, event_id, PROCESSED)["status"] == "PROCESSED"


def test_replaying_a_processed_event_is_refused_without_force(
    runtime: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    _, answer = deliver(runtime, order_webhook_body("QO-900003"))
    event_id = answer["data"]["event_id"]
    wait_until_terminal(runtime, event_id)

    code, out = run(runtime, capsys, "events", "replay", event_id)

    assert code == 1
    assert "HTTP 409 CONFLICT" in out


def test_errors_and_alarms_are_reported_plainly(
    runtime: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(runtime, capsys, "events", "show", "not-a-uuid")
    assert code == 1
    assert "HTTP 400 VALIDATION_ERROR" in out
    code, out = run(runtime, capsys, "alarms")
    assert code == 0
    assert "not emulated by the local runtime" in out


def test_the_smoke_test_passes_every_pipeline_on_the_local_runtime(
    runtime: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(runtime, capsys, "--json", "smoke", "--timeout", "60")

    report = json.loads(out)
    assert code == 0, out
    assert [(c["name"], c["ok"]) for c in report["checks"]] == [
        ("health", True), ("orders ping", True), ("ERP ping (high lane)", True),
        ("ERP ping (standard lane)", True), ("ERP ping (low lane)", True), ("catalog ping", True),
    ]  # fmt: skip
    # Each ping is an event operators can look up: PROCESSED, outcome ping
    order = report["checks"][1]["reference"]
    code, shown = run(runtime, capsys, "--json", "events", "show", order)
    assert (json.loads(shown)["status"], json.loads(shown)["outcome"]) == ("PROCESSED", "ping")
