"""The ERP sync worker's batches on moto: different entities sync concurrently, the updates of one
entity apply one after another in the order they were sent, and a failure holds back the later
updates of its entity (retried on the same schedule) but no other entity's."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from erp.entities import EntityType
from tests.support import tables
from tests.support.erp import VALID_DATA, accept, body, entity
from tests.support.flows import event_item
from tests.support.pipeline import Pipeline
from tests.support.pump import deliver_once


def sync_batch(pipeline: Pipeline) -> tuple[int, list[str]]:
    from erp_sync_worker.handler import handler

    lane = pipeline.resources.erp_lanes["standard"]
    return deliver_once(handler, lane.url, lane.arn)


def product_update(entity_id: str, name: str, occurred_at: str) -> str:
    data = {**VALID_DATA[EntityType.PRODUCT], "name": name}
    return accept(
        "products", body(EntityType.PRODUCT, data, entity_id=entity_id, occurred_at=occurred_at)
    )


def fail_first_write_of(monkeypatch: pytest.MonkeyPatch, entity_id: str) -> list[str]:
    """The entity store's first write of `entity_id` is throttled; returns what was refused."""
    from shared import aws_clients

    client = aws_clients.dynamodb_client()
    original = client.update_item
    refused: list[str] = []

    def flaky(**kwargs: Any) -> Any:
        is_target = kwargs.get("TableName") == tables.entities().name
        if is_target and kwargs["Key"]["entity_id"] == {"S": entity_id} and not refused:
            refused.append(entity_id)
            code = "ProvisionedThroughputExceededException"
            raise ClientError({"Error": {"Code": code, "Message": "injected"}}, "UpdateItem")
        return original(**kwargs)

    monkeypatch.setattr(client, "update_item", flaky)
    return refused


def test_updates_of_one_entity_in_a_batch_apply_in_the_order_they_were_sent(
    pipeline: Pipeline,
) -> None:
    # Given three updates of one product and one of another, in one batch
    first = product_update("E-1", "first", "2026-11-20T10:00:00Z")
    other = product_update("E-2", "other", "2026-11-20T10:00:00Z")
    second = product_update("E-1", "second", "2026-11-20T10:01:00Z")
    third = product_update("E-1", "third", "2026-11-20T10:02:00Z")

    # When the batch is synced
    assert sync_batch(pipeline) == (4, [])

    # Then each update of E-1 was applied, oldest first (none found a newer one already there)
    assert [event_item(e)["outcome"] for e in (first, second, third, other)] == ["synced"] * 4
    assert entity("product", "E-1")["version"] == 3
    assert entity("product", "E-1")["data"]["name"] == "third"
    assert entity("product", "E-2")["version"] == 1


def test_a_failed_update_holds_back_the_later_updates_of_its_entity_only(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two updates of E-1 whose first write is throttled, and an update of E-2
    refused = fail_first_write_of(monkeypatch, "E-1")
    first = product_update("E-1", "first", "2026-11-20T10:00:00Z")
    second = product_update("E-1", "second", "2026-11-20T10:01:00Z")
    other = product_update("E-2", "other", "2026-11-20T10:00:00Z")

    # When the batch is synced
    delivered, failed = sync_batch(pipeline)

    # Then the later update of E-1 was not applied before the failed one: both wait for their
    # retry, the second saying what it waits for; E-2 is synced
    assert (delivered, len(failed), refused) == (3, 2, ["E-1"])
    assert entity("product", "E-1") == {}
    assert event_item(first)["status"] == "RETRYING"
    waiting = event_item(second)
    assert waiting["status"] == "RETRYING"
    assert waiting["last_error"].startswith("RecordBlockedError: message ")
    assert "failed in this batch" in waiting["last_error"]
    assert event_item(other)["outcome"] == "synced"

    # When they are delivered again, Then both apply, in order
    assert sync_batch(pipeline) == (2, [])
    assert [event_item(e)["outcome"] for e in (first, second)] == ["synced", "synced"]
    assert entity("product", "E-1")["version"] == 2
    assert entity("product", "E-1")["data"]["name"] == "second"
