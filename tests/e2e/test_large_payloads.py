"""5 MB ERP webhooks end to end on the local runtime: accepted through the API, their data stored
once in the payload bucket (a claim check), synced by the worker; dead-lettered when the object
is missing, and synced by a DLQ redrive or a replay once it is restored."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from erp.inbox import canonical_json, content_hash
from tests.support.local_runtime import (
    aws,
    entities_table,
    function_state,
    named,
    payload_bucket,
    queue_depth,
    run,
    send,
    wait_until_terminal,
)
from tests.support.waiting import wait_for

MB = 1_000_000
PROCESSED = frozenset({"PROCESSED"})
DEAD_LETTERED = frozenset({"DEAD_LETTERED"})


def five_megabyte_product(entity_id: str) -> dict[str, Any]:
    # Many fields rather than one string: what a catalog export with its variants looks like.
    variants = {f"variant_{n:05d}": f"{n:05d}-" + "x" * 490 for n in range(10_100)}
    return {
        "event_type": "update",
        "entity_type": "product",
        "entity_id": entity_id,
        "data": {"item_id": entity_id, "name": "Widget, every variant", **variants},
        "occurred_at": datetime.now(UTC).isoformat(),
    }


@contextmanager
def sync_worker_paused(runtime: dict[str, Any]) -> Iterator[None]:
    """Every sync worker process stopped (SIGSTOP): an event sent meanwhile is received and
    handed to a worker that reads nothing until it is continued, so what its claim check points
    at can be changed first, with no race."""
    worker = function_state(runtime, "Erp/SyncWorker")
    for pid in worker["pids"]:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in worker["pids"]:
            os.kill(pid, signal.SIGCONT)


def dead_lettered_for_a_missing_object(
    runtime: dict[str, Any], entity_id: str
) -> tuple[str, str, bytes]:
    """A 5 MB product event whose object was deleted before the worker could read it: the
    event id, the object's key and its bytes (to restore)."""
    document = five_megabyte_product(entity_id)
    key = f"zoho/data/{content_hash(document['data'])}.json"
    s3, bucket = aws(runtime, "client", "s3"), payload_bucket(runtime)
    with sync_worker_paused(runtime):
        status, answer = send(runtime, "products", document, runtime["erp_webhook_keys"][0])
        assert status == 202, answer
        stored = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        s3.delete_object(Bucket=bucket, Key=key)
    event_id = str(answer["data"]["event_id"])
    dead = wait_until_terminal(runtime, event_id, DEAD_LETTERED, wait_seconds=90)
    assert "does not exist" in dead["dead_letter"]["reason"], dead
    return event_id, key, stored


def entity_ref(runtime: dict[str, Any], entity_id: str) -> dict[str, Any]:
    key = {"entity_type": "product", "entity_id": entity_id}
    item = entities_table(runtime).get_item(Key=key)["Item"]
    assert "data" not in item  # the entity holds the reference, not 5 MB
    return dict(item["data_ref"])


def test_a_5_mb_erp_webhook_is_accepted_stored_once_and_synced(runtime: dict[str, Any]) -> None:
    document = five_megabyte_product("e2e-5mb")
    assert 5 * MB < len(json.dumps(document).encode()) < 6 * MB  # api.max_request_body_bytes: 6e6
    key = f"zoho/data/{content_hash(document['data'])}.json"

    status, answer = send(runtime, "products", document, runtime["erp_webhook_keys"][0])

    assert status == 202, answer
    final = wait_until_terminal(runtime, answer["data"]["event_id"], wait_seconds=90)
    assert (final["status"], final["outcome"]) == ("PROCESSED", "synced"), final
    assert final["data_ref"]["key"] == key
    assert "data" not in final
    s3 = aws(runtime, "client", "s3")
    stored = s3.get_object(Bucket=payload_bucket(runtime), Key=key)["Body"].read()
    assert stored == canonical_json(document["data"]).encode()
    assert entity_ref(runtime, "e2e-5mb")["key"] == key


def test_a_5_mb_event_dead_lettered_for_its_missing_object_is_redriven_once_restored(
    runtime: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    event_id, key, stored = dead_lettered_for_a_missing_object(runtime, "e2e-5mb-redrive")
    aws(runtime, "client", "s3").put_object(Bucket=payload_bucket(runtime), Key=key, Body=stored)

    code, out = run(runtime, capsys, "dlq", "redrive", "erp-standard")

    assert code == 0, out
    assert "COMPLETED" in out
    final = wait_until_terminal(runtime, event_id, PROCESSED, wait_seconds=90)
    assert final["outcome"] == "synced", final
    assert entity_ref(runtime, "e2e-5mb-redrive")["key"] == key


def test_a_5_mb_event_dead_lettered_for_its_missing_object_is_replayed_once_restored(
    runtime: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    event_id, key, stored = dead_lettered_for_a_missing_object(runtime, "e2e-5mb-replay")
    aws(runtime, "client", "s3").put_object(Bucket=payload_bucket(runtime), Key=key, Body=stored)

    code, out = run(runtime, capsys, "events", "replay", event_id)

    assert code == 0, out
    assert f"replayed {event_id} at stage erp-standard (was DEAD_LETTERED)" in out
    final = wait_until_terminal(runtime, event_id, PROCESSED, wait_seconds=90)
    assert final["outcome"] == "synced", final
    assert entity_ref(runtime, "e2e-5mb-replay")["key"] == key
    # Its dead letter is still in the DLQ: a redrive delivers it, the worker sees it is done
    code, out = run(runtime, capsys, "dlq", "redrive", "erp-standard")
    assert code == 0, out
    lane = named(runtime["queues"], "Erp/StandardLane/Queue")
    wait_for(
        lambda: queue_depth(runtime, lane),
        lambda depth: depth == 0,
        what="the redriven message to be delivered to the sync worker and deleted",
        timeout=30,
    )
    after = wait_until_terminal(runtime, event_id, PROCESSED)
    assert after["status_history"] == final["status_history"]
