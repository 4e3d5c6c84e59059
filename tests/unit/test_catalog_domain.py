"""Catalog enrichment domain: batch splitting, request validation, statuses and progress, the
per-batch enrichment (concurrency, early stop), SendMessageBatch retries, the provider ACL."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from catalog.batches import batch_id, split
from catalog.enrich import enrich_batch
from catalog.provider import (
    EnrichedFields,
    InvalidProviderDataError,
    UnknownProductError,
    to_enriched,
)
from catalog.queueing import send_batches
from catalog.requests import MAX_PRODUCTS, Product, validate_request
from catalog.status import (
    ALLOWED_FROM,
    BatchStatus,
    EnrichmentStatus,
    batch_outcome,
    final_status,
    progress,
)
from shared.errors import RetryableError
from tests.support.catalog import enrichment_body, products


@pytest.mark.parametrize("size", range(5, 51))
@pytest.mark.parametrize("count", [1, 20, 21, 10_000])
def test_products_split_into_batches_of_the_size_in_order(size: int, count: int) -> None:
    items = list(range(count))
    batches = split(items, size)
    assert len(batches) == -(-count // size)
    assert [x for b in batches for x in b] == items
    assert all(len(b) == size for b in batches[:-1])
    assert 1 <= len(batches[-1]) <= size


def test_batch_ids_sort_in_batch_order() -> None:
    ids = [batch_id(n) for n in range(2000)]
    assert ids[0] == "b00001"
    assert ids[-1] == "b02000"
    assert ids == sorted(ids)


def test_a_valid_request_is_accepted_and_the_identifier_prefers_asin() -> None:
    request, problems = validate_request(
        enrichment_body(3, batch_size=None), max_products=MAX_PRODUCTS
    )
    assert problems == []
    assert request is not None
    assert request.batch_size is None
    both = Product(product_id="x", upc="123456789012", asin="B000000001")
    assert both.identifier == ("asin", "B000000001")
    assert Product(product_id="y", ean="1234567890123").identifier == ("ean", "1234567890123")


@pytest.mark.parametrize(
    ("change", "field", "product_id"),
    [
        ({"user_id": ""}, "user_id", None),
        ({"provider": "amazon"}, "provider", None),
        ({"batch_size": 51}, "batch_size", None),
        ({"products": []}, "products", None),
        ({"products": [{"product_id": "a"}]}, "products.0", "a"),
        ({"products": [{"product_id": "a", "upc": "12"}]}, "products.0.upc", "a"),
        ({"products": [{"product_id": "a", "asin": "B000000001"},
                       {"product_id": "a", "asin": "B000000002"}]},
         "products.1.product_id", "a"),
        ({"surprise": 1}, "surprise", None),
    ],
)  # fmt: skip
def test_each_problem_names_its_field_and_product(
    change: dict[str, Any], field: str, product_id: str | None
) -> None:
    request, problems = validate_request(
        {**enrichment_body(2), **change}, max_products=MAX_PRODUCTS
    )
    assert request is None
    assert [(p.field, p.product_id) for p in problems] == [(field, product_id)]


def test_every_offending_product_is_listed_not_just_the_first() -> None:
    body = enrichment_body(0)
    body["products"] = [{"product_id": f"p{n}"} for n in range(7)]
    _, problems = validate_request(body, max_products=MAX_PRODUCTS)
    assert [p.product_id for p in problems] == [f"p{n}" for n in range(7)]


def test_a_batch_with_failures_is_partial_and_the_catalog_says_so() -> None:
    assert batch_outcome(0) is BatchStatus.COMPLETED
    assert batch_outcome(1) is BatchStatus.PARTIAL
    assert final_status({"batches_partial": 0, "batches_failed": 0}) is EnrichmentStatus.COMPLETED
    assert final_status({"batches_partial": 1}) is EnrichmentStatus.COMPLETED_WITH_FAILURES
    assert final_status({"batches_failed": 1}) is EnrichmentStatus.COMPLETED_WITH_FAILURES


def test_progress_comes_from_the_counters() -> None:
    summary = {
        "tracking_id": "t", "catalog_id": "c", "user_id": "u", "provider": "keepa",
        "status": "RUNNING", "created_at": "2026-11-23T00:00:00.000Z", "total_batches": 10,
        "total_products": 200, "enriched": 90, "failed": 10, "batches_completed": 4,
        "batches_partial": 1, "batches_failed": 0, "batches_in_progress": 2,
        "failed_products": [{"product_id": f"p{n}", "reason": "unknown"} for n in range(130)],
    }  # fmt: skip
    view = progress(summary)
    assert view["batches"] == {"total": 10, "pending": 3, "in_progress": 2, "completed": 4,
                               "partial": 1, "failed": 0}  # fmt: skip
    assert view["products"] == {"total": 200, "enriched": 90, "failed": 10, "pending": 100}
    assert view["percent_complete"] == 50.0
    assert len(view["failed_products"]) == 100


def _products(n: int) -> list[Product]:
    return [Product.model_validate(p) for p in products(n)]


FIELDS = EnrichedFields(title="t")


def test_lookups_run_concurrently_up_to_the_pool_size() -> None:
    lock = threading.Lock()
    state = {"now": 0, "most": 0}
    full = threading.Event()

    def lookup(_: Product) -> EnrichedFields:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
            if state["now"] == 6:
                full.set()
        # The first wave holds on until the pool is full (bounded, so a bug cannot hang).
        full.wait(timeout=5)
        time.sleep(0.001)
        with lock:
            state["now"] -= 1
        return FIELDS

    result = enrich_batch(_products(30), lookup, pool_size=6)
    assert len(result.enriched) == 30
    assert state["most"] == 6


def test_outcomes_are_enriched_failed_with_reason_or_troubled() -> None:
    def lookup(product: Product) -> EnrichedFields:
        number = int(product.product_id[2:])
        if number % 5 == 1:
            raise UnknownProductError(f"{product.asin} is unknown")
        if number % 5 == 2:
            raise InvalidProviderDataError("invalid provider data: title missing")
        return FIELDS

    result = enrich_batch(_products(10), lookup, pool_size=3)
    assert sorted(result.enriched) == ["p-00000", "p-00003", "p-00004", "p-00005", "p-00008",
                                        "p-00009"]  # fmt: skip
    assert [f["product_id"] for f in result.failed] == ["p-00001", "p-00002", "p-00006",
                                                        "p-00007"]  # fmt: skip
    assert result.troubled == []


def test_a_provider_in_trouble_is_not_hammered() -> None:
    asked: list[str] = []

    def lookup(product: Product) -> EnrichedFields:
        asked.append(product.product_id)
        raise RetryableError("503 after retries")

    result = enrich_batch(_products(20), lookup, pool_size=4)
    assert len(asked) == 4  # one wave, then it stops
    assert result.stopped_early
    assert sorted(result.troubled) == [p.product_id for p in _products(20)]
    assert result.last_trouble == "503 after retries"


class FakeSqs:
    def __init__(self, refuse: dict[str, int], raise_first: int = 0) -> None:
        self.refuse = refuse
        self.raise_first = raise_first
        self.calls: list[list[str]] = []

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:  # noqa: N803
        self.calls.append([e["Id"] for e in Entries])
        if self.raise_first:
            self.raise_first -= 1
            from botocore.exceptions import EndpointConnectionError

            raise EndpointConnectionError(endpoint_url=QueueUrl)
        failed = []
        for entry in Entries:
            if self.refuse.get(entry["Id"], 0) > 0:
                self.refuse[entry["Id"]] -= 1
                failed.append({"Id": entry["Id"], "Code": "InternalError", "SenderFault": False})
        return {"Successful": [], "Failed": failed}


def test_batches_are_sent_ten_a_call_and_refused_entries_again() -> None:
    sqs = FakeSqs({"b3": 1, "b12": 5})
    bodies = {f"b{n}": "{}" for n in range(1, 24)}
    pauses: list[float] = []

    unsent, calls = send_batches(sqs, "url", bodies, sleep=pauses.append, parallel=1)

    assert [len(c) for c in sqs.calls] == [10, 1, 10, 1, 1, 3]
    assert unsent == ["b12"]
    assert calls == 6
    assert pauses == [0.1, 0.1, 0.2]


def test_calls_run_in_parallel_and_every_batch_is_sent_once() -> None:
    sqs = FakeSqs({"b7": 1})
    bodies = {f"b{n}": "{}" for n in range(200)}

    unsent, calls = send_batches(sqs, "url", bodies, sleep=lambda _: None)

    assert (unsent, calls) == ([], 21)
    sent = [bid for call in sqs.calls for bid in call]
    assert sorted(sent) == sorted([*bodies, "b7"])


def test_a_failed_call_is_retried_like_refused_entries() -> None:
    sqs = FakeSqs({}, raise_first=1)
    unsent, calls = send_batches(sqs, "url", {"a": "{}", "b": "{}"}, sleep=lambda _: None)
    assert (unsent, calls) == ([], 2)


def test_the_providers_document_becomes_our_fields() -> None:
    fields = to_enriched({"product": {"title": "Kettle", "brand": "Acme",
                                      "categoryTree": ["Home", "Kitchen"],
                                      "buyBoxPriceCents": 2599, "currency": "USD", "rating": 4.5,
                                      "reviewCount": 12, "salesRank": 3}})  # fmt: skip
    assert fields.model_dump(exclude_none=True) == {
        "title": "Kettle", "brand": "Acme", "category": "Home > Kitchen", "price": 25.99,
        "currency": "USD", "rating": 4.5, "review_count": 12, "sales_rank": 3,
    }  # fmt: skip


@pytest.mark.parametrize(
    "document",
    [{}, {"product": None}, {"product": {"title": ""}}, {"product": {"title": "x", "rating": 7}},
     {"product": {"title": "x", "buyBoxPriceCents": "?"}}],
)  # fmt: skip
def test_unusable_provider_data_is_refused_not_stored(document: dict[str, Any]) -> None:
    with pytest.raises(InvalidProviderDataError):
        to_enriched(document)


@pytest.mark.parametrize(
    ("to", "allowed_from"),
    [
        (
            BatchStatus.IN_PROGRESS,
            {BatchStatus.PENDING, BatchStatus.IN_PROGRESS, BatchStatus.FAILED},
        ),
        (BatchStatus.COMPLETED, {BatchStatus.IN_PROGRESS}),
        (BatchStatus.PARTIAL, {BatchStatus.IN_PROGRESS}),
        (BatchStatus.FAILED, {BatchStatus.PENDING, BatchStatus.IN_PROGRESS}),
    ],
)
def test_batch_status_moves_only_forward_except_a_redrive(
    to: BatchStatus, allowed_from: set[BatchStatus]
) -> None:
    # A finished batch is never reopened by a duplicate message; only FAILED can restart.
    assert ALLOWED_FROM[to] == allowed_from
    assert BatchStatus.COMPLETED not in ALLOWED_FROM[BatchStatus.IN_PROGRESS]
    assert BatchStatus.PARTIAL not in ALLOWED_FROM[BatchStatus.IN_PROGRESS]
