"""The ERP sync worker on moto: ordering-safe upserts with a version and history, stale updates
ignored, tombstones, the ERP metrics."""

from __future__ import annotations

import pytest

from erp.entities import EntityType
from tests.support.erp import VALID_DATA, accept, body, entity, fail_entity_writes, post, sync_one
from tests.support.flows import event_item, history
from tests.support.output import emitted_metrics
from tests.support.pipeline import Pipeline


def test_an_event_is_synced_with_a_version_and_its_history(pipeline: Pipeline) -> None:
    lane = pipeline.resources.erp_lanes["high"]
    event_id = accept("invoices", body(EntityType.INVOICE, VALID_DATA[EntityType.INVOICE]))

    assert sync_one(lane.url, lane.arn) == {"batchItemFailures": []}

    stored = entity("invoice", "E-1")
    assert stored["data"]["invoice_id"] == "INV-1"
    assert stored["version"] == 1
    assert stored["source_timestamp"] == "2026-11-20T10:00:00.000000Z"
    assert stored["last_event_id"] == event_id
    assert event_item(event_id)["outcome"] == "synced"
    assert event_item(event_id)["synced_from_lane"] == "high"
    assert (
        event_item(event_id)["status_history"][2]["detail"] == "attempt 1 of 3 from the high lane"
    )
    assert history(event_id) == ["RECEIVED", "QUEUED", "PROCESSING", "PROCESSED"]


def test_an_older_update_arriving_later_is_ignored(pipeline: Pipeline) -> None:
    lane = pipeline.resources.erp_lanes["standard"]
    newer = accept(
        "products",
        body(EntityType.PRODUCT, {**VALID_DATA[EntityType.PRODUCT], "name": "New name"},
             occurred_at="2026-11-20T12:00:00Z"),
    )  # fmt: skip
    older = accept(
        "products",
        body(EntityType.PRODUCT, {**VALID_DATA[EntityType.PRODUCT], "name": "Old name"},
             occurred_at="2026-11-20T11:00:00Z"),
    )  # fmt: skip

    sync_one(lane.url, lane.arn)
    sync_one(lane.url, lane.arn)

    assert entity("product", "E-1")["data"]["name"] == "New name"
    assert entity("product", "E-1")["version"] == 1
    assert event_item(newer)["outcome"] == "synced"
    assert event_item(older)["status"] == "PROCESSED"
    assert event_item(older)["outcome"] == "stale_ignored"


def test_a_delete_leaves_a_tombstone(pipeline: Pipeline) -> None:
    lane = pipeline.resources.erp_lanes["low"]
    accept(
        "stock",
        body(EntityType.STOCK, VALID_DATA[EntityType.STOCK], occurred_at="2026-11-20T10:00:00Z"),
    )
    accept(
        "stock",
        body(EntityType.STOCK, VALID_DATA[EntityType.STOCK], event_type="delete",
             occurred_at="2026-11-20T10:05:00Z"),
    )  # fmt: skip

    sync_one(lane.url, lane.arn)
    sync_one(lane.url, lane.arn)

    tombstone = entity("stock", "E-1")
    assert tombstone["deleted"] is True
    assert "data" not in tombstone
    assert tombstone["version"] == 2


def test_the_sync_emits_the_erp_metrics(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    high, low = pipeline.resources.erp_lanes["high"], pipeline.resources.erp_lanes["low"]
    invoice = body(EntityType.INVOICE, VALID_DATA[EntityType.INVOICE])
    accept("invoices", invoice)
    post("invoices", invoice)  # duplicate
    assert post("invoices", {**invoice, "data": {}})["statusCode"] == 400
    sync_one(high.url, high.arn)  # synced
    changed = {**VALID_DATA[EntityType.INVOICE], "total": 1}
    older = body(EntityType.INVOICE, changed, occurred_at="2026-11-01T00:00:00Z")
    accept("invoices", older)
    sync_one(high.url, high.arn)  # stale
    with monkeypatch.context() as patch:
        fail_entity_writes(patch, "ProvisionedThroughputExceededException", 1)
        accept("stock", body(EntityType.STOCK, VALID_DATA[EntityType.STOCK]))
        sync_one(low.url, low.arn)  # retried
        sync_one(low.url, low.arn)  # synced
    with monkeypatch.context() as patch:
        fail_entity_writes(patch, "ValidationException", 1)
        accept("prices", body(EntityType.PRICE, VALID_DATA[EntityType.PRICE]))
        sync_one(low.url, low.arn)  # dead-lettered

    metrics = emitted_metrics(capsys.readouterr().out)

    def named(name: str) -> list[dict[str, str]]:
        return [dims for metric, dims in metrics if metric == name]

    assert [d["entity"] for d in named("ErpEventAccepted")] == [
        "invoice", "invoice", "stock", "price"
    ]  # fmt: skip
    assert [d["reason"] for d in named("ErpEventRejected")] == ["validation"]
    assert len(named("ErpEventDuplicate")) == 1
    assert sorted(d["entity"] for d in named("ErpEventSynced")) == ["invoice", "stock"]
    assert len(named("ErpStaleIgnored")) == 1
    assert len(named("ErpEventRetried")) == 1
    assert len(named("ErpEventDeadLettered")) == 1
