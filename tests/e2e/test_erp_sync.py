"""ERP entity sync end to end on the local runtime: seven entities, three lanes, entity store."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.local_runtime import (
    entities_table,
    function_state,
    run,
    send,
    wait_until_terminal,
)
from tests.support.waiting import wait_for

# Route → (entity type, data, the lane its priority maps to)
ENTITIES: dict[str, tuple[str, dict[str, Any], str]] = {
    "invoices": ("invoice", {"invoice_id": "INV-1", "customer_id": "C-1", "total": 10.5}, "high"),
    "products": ("product", {"item_id": "I-1", "name": "Widget"}, "standard"),
    "customers": ("customer", {"contact_id": "C-1", "contact_name": "Acme"}, "standard"),
    "bills": ("bill", {"bill_id": "B-1", "vendor_id": "V-1", "total": 3}, "standard"),
    "credit-notes": ("credit_note", {"creditnote_id": "CN-1", "customer_id": "C-1", "total": 1},
                     "low"),
    "stock": ("stock", {"item_id": "I-1", "warehouse_id": "W-1", "quantity": 7}, "low"),
    "prices": ("price", {"pricebook_id": "PB-1", "item_id": "I-1", "rate": 2.25}, "low"),
}  # fmt: skip


def test_all_seven_entities_are_synced_through_the_lanes_their_priority_maps_to(
    runtime: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    key = runtime["erp_webhook_keys"][0]
    accepted = {}
    for route, (entity_type, data, _) in ENTITIES.items():
        document = {
            "event_type": "create",
            "entity_type": entity_type,
            "entity_id": f"e2e-{entity_type}",
            "data": data,
            "occurred_at": datetime.now(UTC).isoformat(),
        }
        status, answer = send(runtime, route, document, key)
        assert status == 202, answer
        accepted[route] = answer["data"]

    table = entities_table(runtime)
    for route, (entity_type, data, lane) in ENTITIES.items():
        final = wait_until_terminal(runtime, accepted[route]["event_id"])
        assert accepted[route]["lane"] == lane, route
        assert final["status"] == "PROCESSED", (route, final)
        assert (final["outcome"], final["synced_from_lane"]) == ("synced", lane), route
        stored = table.get_item(Key={"entity_type": entity_type, "entity_id": f"e2e-{entity_type}"})
        assert json.loads(json.dumps(stored["Item"]["data"], default=float)) == data, route

    # Operators see them by entity and by priority.
    code, text = run(runtime, capsys, "status")
    assert code == 0, text
    for entity_type, _, _ in ENTITIES.values():
        assert re.search(rf"^{entity_type}\s+PROCESSED\s+\d+", text, re.MULTILINE), entity_type
    for priority in ("2", "5", "8"):
        assert re.search(rf"^{priority}\s+PROCESSED\s+\d+", text, re.MULTILINE), priority


def test_only_the_configured_key_is_accepted(runtime: dict[str, Any]) -> None:
    document = {
        "event_type": "update",
        "entity_type": "customer",
        "entity_id": "e2e-rotation",
        "data": {"contact_id": "C-9", "contact_name": "Rotated"},
    }
    status, answer = send(runtime, "customers", document, "wrong-key")
    assert (status, answer["error"]["code"]) == (401, "AUTH_ERROR")
    status, answer = send(runtime, "customers", document, runtime["erp_webhook_keys"][0])
    assert status == 202, answer


def test_the_stuck_event_sweeper_runs_on_its_schedule(runtime: dict[str, Any]) -> None:
    log = Path(function_state(runtime, "StuckEvents/Sweeper")["log"])

    def sweeps() -> list[dict[str, Any]]:
        lines = log.read_text().splitlines() if log.exists() else []
        return [json.loads(line) for line in lines if '"sweep finished"' in line]

    finished = wait_for(sweeps, bool, what=f"a sweep to finish ({log})", timeout=20, interval=0.5)
    # Nothing here is older than the threshold: the sweeps find no stuck event.
    assert {entry["stuck"] for entry in finished} == {0}
