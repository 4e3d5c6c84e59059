"""The catalog enrichment API on moto: batching, SendMessageBatch retries, idempotency, conflicts,
queueing failures, progress and the per-user listing."""

from __future__ import annotations

from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from tests.support import tables
from tests.support.aws_errors import aws_error
from tests.support.catalog import call, enrichment_body, progress, start
from tests.support.lambda_events import response_json
from tests.support.pipeline import Pipeline
from tests.support.pump import receive


def status_items(catalog_id: str) -> dict[str, dict[str, Any]]:
    table = tables.enrichments()
    items = table.query(KeyConditionExpression=Key("catalog_id").eq(catalog_id))["Items"]
    return {str(item["batch_id"]): item for item in items}


def queued(url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while batch := receive(url):
        messages.extend(batch)
    return messages


def flaky_send_message_batch(
    monkeypatch: pytest.MonkeyPatch, refuse: dict[str, int]
) -> list[list[str]]:
    """SendMessageBatch that reports the entries in `refuse` as Failed, that many times each."""
    from shared import aws_clients

    sqs = aws_clients.sqs()
    original = sqs.send_message_batch
    calls: list[list[str]] = []

    def send(**kwargs: Any) -> Any:
        entries = kwargs["Entries"]
        calls.append([e["Id"] for e in entries])
        refused = [e for e in entries if refuse.get(e["Id"], 0) > 0]
        for entry in refused:
            refuse[entry["Id"]] -= 1
        accepted = [e for e in entries if e not in refused]
        response: dict[str, Any] = (
            dict(original(**{**kwargs, "Entries": accepted})) if accepted else {"Successful": []}
        )
        response["Failed"] = [
            {"Id": e["Id"], "Code": "InternalError", "SenderFault": False, "Message": "injected"}
            for e in refused
        ]
        return response

    monkeypatch.setattr(sqs, "send_message_batch", send)
    return calls


def test_products_are_split_into_batches_recorded_and_queued(pipeline: Pipeline) -> None:
    response = start("cat-1", enrichment_body(45, batch_size=20))

    assert response["statusCode"] == 202, response["body"]
    answer = response_json(response)["data"]
    assert {k: answer[k] for k in ("catalog_id", "total_products", "total_batches")} == {
        "catalog_id": "cat-1", "total_products": 45, "total_batches": 3
    }  # fmt: skip
    items = status_items("cat-1")
    tracking = answer["tracking_id"]
    batches = {k: v for k, v in items.items() if k.startswith(f"{tracking}#b")}
    assert sorted(int(b["product_count"]) for b in batches.values()) == [5, 20, 20]
    assert {b["status"] for b in batches.values()} == {"PENDING"}
    summary = items[f"{tracking}#summary"]
    assert (summary["status"], summary["send_calls"], summary["user_id"]) == (
        "RUNNING", 1, "user-1"
    )  # fmt: skip
    assert items["latest"]["tracking_id"] == tracking
    messages = queued(pipeline.resources.enrichment.url)
    assert len(messages) == 3


def test_entries_sendmessagebatch_refuses_are_sent_again(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = flaky_send_message_batch(monkeypatch, {"b00002": 1, "b00011": 2})

    response = start("cat-2", enrichment_body(220, batch_size=20))  # 11 batches

    assert response["statusCode"] == 202, response["body"]
    # Two calls at once (10 + 1 entries); then each refused entry alone, in parallel.
    assert sorted(calls) == sorted([[f"b{n:05d}" for n in range(1, 11)], ["b00011"],
                                    ["b00002"], ["b00011"], ["b00011"]])  # fmt: skip
    messages = queued(pipeline.resources.enrichment.url)
    assert len(messages) == 11
    summary = status_items("cat-2")[f"{response_json(response)['data']['tracking_id']}#summary"]
    assert summary["send_calls"] == 5


def test_a_retry_with_the_same_key_returns_the_same_answer_and_queues_nothing(
    pipeline: Pipeline,
) -> None:
    body = enrichment_body(30, batch_size=10)
    first = start("cat-3", body, key="req-1")
    again = start("cat-3", body, key="req-1")

    assert (first["statusCode"], again["statusCode"]) == (202, 202)
    assert response_json(again)["data"] == response_json(first)["data"]
    assert len(queued(pipeline.resources.enrichment.url)) == 3

    changed = start("cat-3", enrichment_body(31, batch_size=10), key="req-1")
    assert changed["statusCode"] == 409
    assert "different request body" in response_json(changed)["error"]["message"]


def test_a_second_enrichment_of_a_running_catalog_is_409_naming_it(pipeline: Pipeline) -> None:
    first = response_json(start("cat-4", enrichment_body(5)))["data"]

    second = start("cat-4", enrichment_body(5))

    assert second["statusCode"] == 409
    error = response_json(second)["error"]
    assert error["code"] == "CONFLICT"
    assert first["tracking_id"] in error["message"]
    assert error["details"][0]["tracking_id"] == first["tracking_id"]
    assert start("cat-other", enrichment_body(5))["statusCode"] == 202


def test_a_batch_that_cannot_be_queued_fails_the_request_and_the_same_key_completes_it(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = enrichment_body(60, batch_size=20)  # 3 batches
    with monkeypatch.context() as patch:
        flaky_send_message_batch(patch, {"b00002": 99})
        failed = start("cat-5", body, key="req-5")
    assert failed["statusCode"] == 503
    assert failed["multiValueHeaders"].get("Retry-After") or failed["headers"].get("Retry-After")
    tracking = next(k for k in status_items("cat-5") if k.endswith("#summary")).split("#")[0]
    summary = status_items("cat-5")[f"{tracking}#summary"]
    assert (summary["status"], summary["unsent_batches"]) == ("QUEUEING", ["b00002"])
    assert len(queued(pipeline.resources.enrichment.url)) == 2

    # SQS is fine again: the caller retries with the same key
    retried = start("cat-5", body, key="req-5")

    assert retried["statusCode"] == 202, retried["body"]
    assert response_json(retried)["data"]["tracking_id"] == tracking
    messages = queued(pipeline.resources.enrichment.url)
    assert [m["Body"].count('"batch_id":"b00002"') for m in messages] == [1]
    assert status_items("cat-5")[f"{tracking}#summary"]["status"] == "RUNNING"


def test_without_a_key_a_failed_queueing_cancels_and_frees_the_catalog(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        flaky_send_message_batch(patch, {"b00001": 99})
        failed = start("cat-6", enrichment_body(40, batch_size=20))
    assert failed["statusCode"] == 503
    [summary] = [v for k, v in status_items("cat-6").items() if k.endswith("#summary")]
    assert summary["status"] == "CANCELLED"

    assert start("cat-6", enrichment_body(40, batch_size=20))["statusCode"] == 202


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"user_id": "u", "provider": "keepa", "products": []}, {"products"}),
        ({"user_id": "u", "provider": "other", "products": [{"product_id": "a", "upc": "1" * 12}]},
         {"provider"}),
        ({"user_id": "u", "provider": "keepa", "batch_size": 4,
          "products": [{"product_id": "a", "ean": "1" * 13}]}, {"batch_size"}),
        ({"user_id": "u", "provider": "keepa",
          "products": [{"product_id": "a"}, {"product_id": "b", "asin": "bad"},
                       {"product_id": "a", "upc": "1" * 12}]},
         {"products.0", "products.1.asin", "products.2.product_id"}),
    ],
)  # fmt: skip
def test_invalid_requests_are_400_listing_every_offending_product_and_field(
    pipeline: Pipeline, body: dict[str, Any], fields: set[str]
) -> None:
    response = start("cat-7", body)

    assert response["statusCode"] == 400
    error = response_json(response)["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert {d["field"] for d in error["details"]} == fields
    assert queued(pipeline.resources.enrichment.url) == []


def test_more_than_ten_thousand_products_is_400(pipeline: Pipeline) -> None:
    response = start("cat-8", enrichment_body(10_001))
    assert response["statusCode"] == 400
    assert response_json(response)["error"]["details"][0]["field"] == "products"


def test_progress_is_served_from_the_summary(pipeline: Pipeline) -> None:
    tracking = response_json(start("cat-9", enrichment_body(45)))["data"]["tracking_id"]

    body = response_json(progress("cat-9"))["data"]

    assert body["tracking_id"] == tracking
    assert body["status"] == "RUNNING"
    assert body["batches"] == {"total": 3, "pending": 3, "in_progress": 0, "completed": 0,
                               "partial": 0, "failed": 0}  # fmt: skip
    assert body["products"] == {"total": 45, "enriched": 0, "failed": 0, "pending": 45}
    assert body["percent_complete"] == 0
    assert progress("cat-unknown")["statusCode"] == 404


def test_a_users_enrichments_are_listed_newest_first_across_pages(pipeline: Pipeline) -> None:
    ids = [
        response_json(start(f"cat-u{n}", enrichment_body(5)))["data"]["tracking_id"]
        for n in range(5)
    ]
    start("cat-someone-else", enrichment_body(5, user_id="user-2"))

    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        response = call("GET", "/users/user-1/enrichments", "/users/{user_id}/enrichments",
                        params=params, user_id="user-1")  # fmt: skip
        assert response["statusCode"] == 200, response["body"]
        page = response_json(response)["data"]
        seen.extend(e["tracking_id"] for e in page["enrichments"])
        cursor = page["next_cursor"]
        if not cursor:
            break

    assert seen == list(reversed(ids))


def test_an_enrichment_whose_request_died_while_queueing_no_longer_holds_the_catalog(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A request that timed out half-way: summary QUEUEING, the catalog still claimed.
    with monkeypatch.context() as patch:
        flaky_send_message_batch(patch, {"b00002": 99})
        assert start("cat-10", enrichment_body(40), key="req-10")["statusCode"] == 503
    [abandoned] = [k for k in status_items("cat-10") if k.endswith("#summary")]
    assert start("cat-10", enrichment_body(40))["statusCode"] == 409  # within the window

    table = tables.enrichments()
    table.update_item(
        Key={"catalog_id": "cat-10", "batch_id": "latest"},
        UpdateExpression="SET queue_deadline = :past",
        ExpressionAttributeValues={":past": "2026-01-01T00:00:00.000Z"},
    )
    retaken = start("cat-10", enrichment_body(40))

    assert retaken["statusCode"] == 202, retaken["body"]
    items = status_items("cat-10")
    assert items[abandoned]["status"] == "CANCELLED"
    assert items["latest"]["tracking_id"] == response_json(retaken)["data"]["tracking_id"]
    assert "queue_deadline" not in items["latest"]  # fully queued: held until it finishes


def test_a_throttled_idempotency_table_is_503_and_the_same_key_then_starts_it(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared import aws_clients

    def throttled(**_: Any) -> None:
        raise aws_error("ProvisionedThroughputExceededException", 400, "PutItem")

    body = enrichment_body(20, batch_size=10)
    with monkeypatch.context() as patch:
        # Powertools Idempotency writes its record first, and wraps what DynamoDB raised
        patch.setattr(aws_clients.dynamodb_client(), "put_item", throttled)
        refused = start("cat-throttled", body, key="req-t")

    assert refused["statusCode"] == 503
    assert response_json(refused)["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert refused["multiValueHeaders"]["Retry-After"] == ["5"]
    assert queued(pipeline.resources.enrichment.url) == []

    retried = start("cat-throttled", body, key="req-t")
    assert retried["statusCode"] == 202
    assert len(queued(pipeline.resources.enrichment.url)) == 2
