"""The synthetic ping of `ops smoke` on moto: every stage passes it on, ends PROCESSED with
outcome `ping` (the enrichment COMPLETED), and no partner is called, nothing is written to the
entity store."""

from __future__ import annotations

import json

from erp.entities import EntityType
from tests.support.catalog import progress, start, work_all
from tests.support.erp import entity, post, sync_one
from tests.support.flows import drain_stage, event_item, history
from tests.support.lambda_events import FakeLambdaContext, api_event, response_json
from tests.support.pipeline import Pipeline
from tests.support.signing import signed_headers


def test_an_order_ping_passes_every_stage_without_calling_a_partner(pipeline: Pipeline) -> None:
    from ingest.handler import handler

    # Given a signed ping on the order webhook route
    body = json.dumps(
        {"order_id": "QO-000000", "event_type": "ping", "timestamp": "2026-12-01T10:00:00Z"}
    ).encode()
    headers = signed_headers(body, pipeline.signing_secret)
    answer = handler(
        api_event("POST", "/webhooks/qualia", body=body, headers=headers), FakeLambdaContext()
    )
    assert answer["statusCode"] == 202, answer["body"]
    event_id = response_json(answer)["data"]["event_id"]
    resources = pipeline.resources

    # When both stages run
    drain_stage("download", resources.download.url, resources.download.arn)
    drain_stage("processing", resources.processing.url, resources.processing.arn)

    # Then it is PROCESSED as a ping: its document went through S3, no partner was called
    item = event_item(event_id)
    assert (item["status"], item["outcome"]) == ("PROCESSED", "ping")
    assert history(event_id) == ["RECEIVED", "QUEUED", "DOWNLOADED", "PROCESSED"]
    assert item["s3_key"] == f"qualia/orders/QO-000000/{event_id}.json"
    assert pipeline.marketplace.requests_to("GET", "/orders/.*") == []
    assert pipeline.internal_api.requests_to("POST", "/orders") == []


def test_an_erp_ping_is_processed_in_its_lane_without_writing_the_entity_store(
    pipeline: Pipeline,
) -> None:
    document = {
        "event_type": "ping",
        "entity_type": "invoice",
        "entity_id": "ops-smoke",
        "data": {},  # a ping's data is not validated
        "occurred_at": "2026-12-01T10:00:00Z",
    }
    answer = post("invoices", document)
    assert answer["statusCode"] == 202, answer["body"]
    event_id = response_json(answer)["data"]["event_id"]
    lane = pipeline.resources.erp_lanes["high"]

    assert sync_one(lane.url, lane.arn) == {"batchItemFailures": []}

    item = event_item(event_id)
    assert (item["status"], item["outcome"], item["synced_from_lane"]) == (
        "PROCESSED", "ping", "high"
    )  # fmt: skip
    assert entity(EntityType.INVOICE.value, "ops-smoke") == {}


def test_a_ping_enrichment_completes_without_calling_the_provider(pipeline: Pipeline) -> None:
    body = {
        "user_id": "ops-smoke",
        "provider": "ping",
        "products": [{"product_id": "ping", "asin": "PING000000"}],
    }
    answer = start("ops-smoke", body)
    assert answer["statusCode"] == 202, answer["body"]

    work_all(pipeline)

    view = response_json(progress("ops-smoke"))["data"]
    assert view["status"] == "COMPLETED"
    assert view["products"]["enriched"] == 1
    assert pipeline.provider.requests == []
