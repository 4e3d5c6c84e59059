"""The enrichment worker on moto against the provider stand-in: enrichment, partial batches,
skipping done products on redelivery, provider outages, concurrency, the catalog's progress."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Key

from local.peers import FaultRule
from tests.support import tables
from tests.support.aws import REGION
from tests.support.catalog import enrichment_body, products, progress, start, work_all, work_one
from tests.support.lambda_events import response_json
from tests.support.output import emitted_metrics
from tests.support.pipeline import Pipeline
from tests.support.pump import receive


def stored(catalog_id: str) -> dict[str, dict[str, Any]]:
    table = tables.products()
    items = table.query(KeyConditionExpression=Key("catalog_id").eq(catalog_id))["Items"]
    return {str(item["product_id"]): item for item in items}


def batch(catalog_id: str, tracking_id: str, batch_id: str) -> dict[str, Any]:
    table = tables.enrichments()
    key = {"catalog_id": catalog_id, "batch_id": f"{tracking_id}#{batch_id}"}
    return dict(table.get_item(Key=key)["Item"])


def test_a_catalog_is_enriched_and_its_progress_reaches_100_percent(pipeline: Pipeline) -> None:
    tracking = response_json(start("cat-a", enrichment_body(45, batch_size=20)))["data"][
        "tracking_id"
    ]

    assert work_all(pipeline) == 3

    items = stored("cat-a")
    assert len(items) == 45
    first = items["p-00000"]
    assert (first["status"], first["asin"], first["tracking_id"]) == (
        "ENRICHED", "B000000000", tracking
    )  # fmt: skip
    assert first["title"]
    assert first["price"] > 0
    assert first["currency"] == "USD"
    body = response_json(progress("cat-a"))["data"]
    assert body["status"] == "COMPLETED"
    assert body["batches"]["completed"] == 3
    assert body["products"] == {"total": 45, "enriched": 45, "failed": 0, "pending": 0}
    assert body["percent_complete"] == 100
    assert body["started_at"] <= body["finished_at"]
    # The catalog may be enriched again.
    assert start("cat-a", enrichment_body(5))["statusCode"] == 202


def test_unknown_products_fail_with_their_reason_and_the_batch_is_partial(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    body = {"user_id": "user-1", "provider": "keepa", "batch_size": 10,
            "products": products(10, unknown=3)}  # fmt: skip
    tracking = response_json(start("cat-b", body))["data"]["tracking_id"]
    capsys.readouterr()

    assert work_one(pipeline) == {"batchItemFailures": []}

    assert batch("cat-b", tracking, "b00001")["status"] == "PARTIAL"
    items = stored("cat-b")
    assert sorted(k for k, v in items.items() if v["status"] == "FAILED") == [
        "p-00007", "p-00008", "p-00009"
    ]  # fmt: skip
    assert "unknown" in items["p-00007"]["reason"]
    view = response_json(progress("cat-b"))["data"]
    assert view["status"] == "COMPLETED_WITH_FAILURES"
    assert (view["products"]["enriched"], view["products"]["failed"]) == (7, 3)
    assert [f["product_id"] for f in view["failed_products"]] == ["p-00007", "p-00008", "p-00009"]
    metrics = emitted_metrics(capsys.readouterr().out)
    names = [name for name, _ in metrics]
    for name in (
        "EnrichmentProductsSucceeded",
        "EnrichmentProductsFailed",
        "EnrichmentBatchDuration",
        "ProviderLatency",
    ):
        assert name in names, name  # fmt: skip


def test_a_redelivered_batch_does_not_ask_the_provider_again_for_done_products(
    pipeline: Pipeline,
) -> None:
    start("cat-c", enrichment_body(10, batch_size=10))
    # The first 6 answer; then the provider is down for the rest of this delivery.
    pipeline.provider.add_fault(FaultRule(path=r"/v1/products/asin/B00000000[6-9]", status=503))

    first = work_one(pipeline)

    assert len(first["batchItemFailures"]) == 1
    assert len(stored("cat-c")) == 6
    pipeline.provider.clear_faults()
    calls_before = dict(pipeline.provider.calls)

    assert work_one(pipeline) == {"batchItemFailures": []}

    calls = pipeline.provider.calls
    asked_again = {k for k in calls if calls[k] != calls_before.get(k, 0)}
    assert asked_again == {f"B00000000{n}" for n in range(6, 10)}
    assert len(stored("cat-c")) == 10
    assert all(n == 1 for n in pipeline.provider.answered.values())


def test_a_provider_outage_stops_the_batch_early_and_dead_letters_it_when_retries_run_out(
    pipeline: Pipeline,
) -> None:
    tracking = response_json(start("cat-d", enrichment_body(20, batch_size=20)))["data"][
        "tracking_id"
    ]
    pipeline.provider.add_fault(FaultRule(path=r"/v1/products/.*", status=503))

    for _ in range(3):  # max receive count 3
        assert len(work_one(pipeline)["batchItemFailures"]) == 1

    # Stopped early each time: one wave (the pool, 4 here) per attempt, never all 20 products.
    total_calls = sum(pipeline.provider.calls.values())
    assert total_calls <= 3 * 4 * 2  # 3 attempts x 4 products x (1 + 1 HTTP retry)
    failed = batch("cat-d", tracking, "b00001")
    assert failed["status"] == "FAILED"
    assert "provider trouble" in failed["detail"]
    view = response_json(progress("cat-d"))["data"]
    assert view["status"] == "COMPLETED_WITH_FAILURES"
    assert view["batches"] == {"total": 1, "pending": 0, "in_progress": 0, "completed": 0,
                               "partial": 0, "failed": 1}  # fmt: skip
    assert view["products"] == {"total": 20, "enriched": 0, "failed": 20, "pending": 0}
    assert stored("cat-d") == {}  # nothing made up while the provider was down
    # On the last attempt the message is left visible, so SQS moves it to the DLQ.
    assert receive(pipeline.resources.enrichment.url) == []
    assert len(receive(pipeline.resources.enrichment.dlq_url)) == 1


def test_products_are_enriched_concurrently_up_to_the_pool_size(pipeline: Pipeline) -> None:
    pipeline.provider.latency_seconds = 0.2  # long enough for every pooled call to overlap
    start("cat-e", enrichment_body(20, batch_size=20))

    work_one(pipeline)

    assert len(stored("cat-e")) == 20
    assert pipeline.provider.max_in_flight == 4  # HTTP_CLIENT pool_size in the tests


def test_a_failed_batch_redriven_after_the_outage_completes_the_catalog(pipeline: Pipeline) -> None:
    start("cat-f", enrichment_body(20, batch_size=20))
    pipeline.provider.add_fault(FaultRule(path=r"/v1/products/.*", status=503))
    for _ in range(3):
        work_one(pipeline)
    assert response_json(progress("cat-f"))["data"]["batches"]["failed"] == 1
    queue = pipeline.resources.enrichment
    assert receive(queue.url) == []  # the next receive is what moves it to the DLQ

    # The provider is back; an operator redrives the DLQ
    pipeline.provider.clear_faults()
    boto3.client("sqs", region_name=REGION).start_message_move_task(
        SourceArn=queue.dlq_arn, DestinationArn=queue.arn
    )
    assert work_one(pipeline) == {"batchItemFailures": []}

    view = response_json(progress("cat-f"))["data"]
    assert view["status"] == "COMPLETED"
    assert view["batches"] == {"total": 1, "pending": 0, "in_progress": 0, "completed": 1,
                               "partial": 0, "failed": 0}  # fmt: skip
    assert view["products"] == {"total": 20, "enriched": 20, "failed": 0, "pending": 0}
    assert len(stored("cat-f")) == 20
    assert all(n == 1 for n in pipeline.provider.answered.values())


def test_a_batch_writes_its_products_in_one_batch_write_not_one_put_each(
    pipeline: Pipeline,
) -> None:
    # Given a batch of 20 products, 2 unknown to the provider
    from shared import aws_clients

    body = {**enrichment_body(20, batch_size=20), "products": products(20, unknown=2)}
    assert start("cat-writes", body)["statusCode"] == 202
    calls: list[str] = []
    client = aws_clients.dynamodb_client()
    products_table = tables.products().name

    def count(params: dict[str, Any], model: Any, **_: Any) -> None:
        if params.get("TableName") == products_table or products_table in params.get(
            "RequestItems", {}
        ):
            calls.append(model.name)

    client.meta.events.register("before-parameter-build.dynamodb", count, unique_id="count")

    # When the worker enriches it
    work_one(pipeline)

    # Then its 20 products (enriched and failed) were written by one BatchWriteItem
    client.meta.events.unregister("before-parameter-build.dynamodb", unique_id="count")
    assert [c for c in calls if c != "BatchGetItem"] == ["BatchWriteItem"]
    items = stored("cat-writes")
    assert len(items) == 20
    assert sorted({str(i["status"]) for i in items.values()}) == ["ENRICHED", "FAILED"]
    assert items["p-00019"]["reason"]
