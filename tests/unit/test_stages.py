"""When a worker stage is done with an event (a redelivery is then skipped): one rule,
`shared.failure_policy.Stage.is_done`, for every stage that tracks its event."""

from __future__ import annotations

import pytest

from catalog.stages import ENRICH
from erp.stages import SYNC
from orders.stages import DOWNLOAD, PROCESSING
from shared.event_status import EventStatus
from shared.failure_policy import Stage


@pytest.mark.parametrize("stage", [DOWNLOAD, PROCESSING, SYNC], ids=lambda s: s.name)
def test_every_stage_is_done_with_a_processed_event(stage: Stage) -> None:
    assert stage.is_done({"status": EventStatus.PROCESSED.value})


def test_the_download_is_done_once_the_raw_order_is_stored_whatever_came_after() -> None:
    # Given an event the processing stage failed after the download stored its payload
    event = {"status": EventStatus.DEAD_LETTERED.value, "s3_key": "qualia/orders/QO-1/e.json"}

    # Then a redelivered download skips it, and the processing stage does not
    assert DOWNLOAD.is_done(event)
    assert not PROCESSING.is_done(event)


@pytest.mark.parametrize(
    "status", [s for s in EventStatus if s is not EventStatus.PROCESSED], ids=str
)
def test_no_stage_is_done_with_an_event_still_on_its_way(status: EventStatus) -> None:
    event = {"status": status.value}
    assert not any(stage.is_done(event) for stage in (DOWNLOAD, PROCESSING, SYNC))


def test_each_stage_names_its_pipeline() -> None:
    assert [(s.pipeline.value, s.name) for s in (DOWNLOAD, PROCESSING, SYNC, ENRICH)] == [
        ("marketplace_orders", "download"),
        ("marketplace_orders", "processing"),
        ("erp_entity_sync", "sync"),
        ("catalog_enrichment", "enrich"),
    ]
