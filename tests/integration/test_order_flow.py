"""A signed webhook through ingest → download → processing handlers, on in-process moto."""

from __future__ import annotations

from tests.support.flows import accept_webhook, drain_stage, event_item, history
from tests.support.pipeline import Pipeline


def test_a_signed_order_webhook_ends_processed_with_one_post_to_the_internal_api(
    pipeline: Pipeline,
) -> None:
    # Given a signed order webhook, accepted by ingest
    event_id = accept_webhook(pipeline.signing_secret, "QO-555001")
    resources = pipeline.resources

    # When each stage's queue is polled until empty, as the event source mappings do
    downloaded = drain_stage("download", resources.download.url, resources.download.arn)
    processed = drain_stage("processing", resources.processing.url, resources.processing.arn)

    # Then the event went through every status and the internal API got it exactly once
    assert (downloaded, processed) == (1, 1)
    assert history(event_id) == ["RECEIVED", "QUEUED", "DOWNLOADED", "PROCESSED"]
    assert event_item(event_id)["internal_order_id"].startswith("INT-")
    assert len(pipeline.marketplace.requests_to("GET", "/orders/QO-555001")) == 1
    [post] = pipeline.internal_api.requests_to("POST", "/orders")
    assert post.headers["Idempotency-Key"] == event_id
    assert post.json()["external_order_id"] == "QO-555001"


def test_a_batch_of_orders_all_reach_the_internal_api_once(pipeline: Pipeline) -> None:
    order_ids = [f"QO-6{n:05d}" for n in range(12)]
    event_ids = [accept_webhook(pipeline.signing_secret, order_id) for order_id in order_ids]
    resources = pipeline.resources

    drain_stage("download", resources.download.url, resources.download.arn)
    drain_stage("processing", resources.processing.url, resources.processing.arn)

    assert {event_item(e)["status"] for e in event_ids} == {"PROCESSED"}
    posted = sorted(r.json()["external_order_id"] for r in pipeline.internal_api.requests)
    assert posted == sorted(order_ids)
