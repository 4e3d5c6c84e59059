"""The catalog API's limits come from the env's config (`MAX_PRODUCTS`, `MAX_BODY_BYTES`), and a
request over either is refused as the API refuses one over its hard ceilings."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto import mock_aws

from catalog.requests import MAX_PRODUCTS
from tests.support.lambda_events import FakeLambdaContext, api_event, response_json

Post = Callable[[dict[str, Any]], dict[str, Any]]


def _products(count: int) -> list[dict[str, str]]:
    return [{"product_id": f"p-{n:05d}", "asin": f"B{n:09d}"} for n in range(count)]


def _body(count: int) -> dict[str, Any]:
    return {"user_id": "user-1", "provider": "keepa", "products": _products(count)}


def _cold_start() -> None:
    from catalog_api import handler
    from shared import aws_clients
    from shared.settings import get_settings

    get_settings.cache_clear()
    aws_clients.reset()
    handler._enrichments.cache_clear()
    handler._persistence.cache_clear()


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[int, int], Post]]:
    """`limits(max_products, max_body_bytes)`: the API under those limits, posting to it. Every
    request here is refused before the tables or the queue are touched."""

    def configure(max_products: int, max_body_bytes: int) -> Post:
        for name, value in {
            "ENRICHMENT_TABLE_NAME": "enrichments",
            "IDEMPOTENCY_TABLE_NAME": "idempotency",
            "ENRICHMENT_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/enrichment",
            "DEFAULT_BATCH_SIZE": "20",
            "MAX_PRODUCTS": str(max_products),
            "MAX_BODY_BYTES": str(max_body_bytes),
        }.items():
            monkeypatch.setenv(name, value)
        _cold_start()
        return _post

    with mock_aws():
        yield configure
    _cold_start()


def _post(body: dict[str, Any]) -> dict[str, Any]:
    from catalog_api.handler import handler

    event = api_event(
        "POST",
        "/catalogs/cat-1/enrichments",
        resource="/catalogs/{catalog_id}/enrichments",
        body=json.dumps(body),
        headers={"Content-Type": "application/json"},
        path_parameters={"catalog_id": "cat-1"},
    )
    return dict(handler(event, FakeLambdaContext()))


def _refusal(response: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return response["statusCode"], response_json(response)["error"]


def test_more_products_than_the_env_allows_is_refused_as_the_ceiling_refuses(
    limits: Callable[[int, int], Post],
) -> None:
    # Given the ceiling's refusal (10,001 products) and an env that allows 3
    ceiling = _refusal(limits(MAX_PRODUCTS, 6_000_000)(_body(MAX_PRODUCTS + 1)))
    post = limits(3, 6_000_000)

    # When 4 products are posted
    status, error = _refusal(post(_body(4)))

    # Then the answer is the ceiling's, with the env's limit in it
    assert (status, error["code"], error["message"]) == (
        400, "VALIDATION_ERROR", "the enrichment request is invalid: 1 problems"
    )  # fmt: skip
    assert error["details"] == [
        {"field": "products", "message": "List should have at most 3 items after validation, not 4"}
    ]
    assert ceiling[0] == status
    assert ceiling[1]["details"] == [
        {
            "field": "products",
            "message": f"List should have at most {MAX_PRODUCTS} items after validation, "
            f"not {MAX_PRODUCTS + 1}",
        }
    ]
    assert {k: v for k, v in ceiling[1].items() if k != "details"} == {
        k: v for k, v in error.items() if k != "details"
    }


def test_as_many_products_as_the_env_allows_pass_the_limit(
    limits: Callable[[int, int], Post],
) -> None:
    post = limits(3, 6_000_000)

    # An invalid user id keeps the request from being started: only the limit is under test.
    status, error = _refusal(post({**_body(3), "user_id": "not valid!"}))

    assert status == 400
    assert [d["field"] for d in error["details"]] == ["user_id"]


def test_a_body_over_the_envs_limit_is_413(limits: Callable[[int, int], Post]) -> None:
    # Given an env whose bodies may be 500 bytes
    post = limits(MAX_PRODUCTS, 500)
    body = _body(10)
    size = len(json.dumps(body).encode())
    assert size > 500

    # When a larger one is posted, Then it is refused before it is read
    status, error = _refusal(post(body))
    assert status == 413
    assert error == {
        "code": "PAYLOAD_TOO_LARGE",
        "message": f"body is {size} bytes; the limit is 500",
        "details": None,
    }


def test_a_body_within_the_envs_limit_is_read(limits: Callable[[int, int], Post]) -> None:
    body = {**_body(10), "user_id": "not valid!"}
    post = limits(MAX_PRODUCTS, len(json.dumps(body).encode()))

    status, error = _refusal(post(body))

    assert (status, error["code"]) == (400, "VALIDATION_ERROR")
