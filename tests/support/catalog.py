"""Catalog enrichment requests as a catalog service sends them, the API called as Lambda is, and
the enrichment worker fed from its queue."""

from __future__ import annotations

import json
from typing import Any

import boto3

from tests.support.aws import REGION
from tests.support.lambda_events import FakeLambdaContext, api_event
from tests.support.pipeline import Pipeline
from tests.support.pump import deliver_one


def products(count: int, *, unknown: int = 0, start: int = 0) -> list[dict[str, Any]]:
    """`count` products with an ASIN each; the last `unknown` are unknown to the provider."""
    made = []
    for n in range(start, start + count):
        asin = f"UNKNOWN{n:03d}" if n >= start + count - unknown else f"B{n:09d}"
        made.append({"product_id": f"p-{n:05d}", "asin": asin, "title": "from the catalog"})
    return made


def enrichment_body(count: int, *, batch_size: int | None = 20, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"user_id": "user-1", "provider": "keepa", "products": products(count)}
    if batch_size is not None:
        body["batch_size"] = batch_size
    return {**body, **changes}


def call(
    method: str,
    path: str,
    resource: str,
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    **path_parameters: str,
) -> dict[str, Any]:
    from catalog_api.handler import handler

    event = api_event(
        method,
        path,
        resource=resource,
        body=None if body is None else json.dumps(body),
        headers={"Content-Type": "application/json", **(headers or {})},
        path_parameters=path_parameters,
        query=params,
    )
    return dict(handler(event, FakeLambdaContext()))


def start(catalog_id: str, body: Any, key: str | None = None) -> dict[str, Any]:
    headers = {"Idempotency-Key": key} if key else {}
    return call(
        "POST",
        f"/catalogs/{catalog_id}/enrichments",
        "/catalogs/{catalog_id}/enrichments",
        body=body,
        headers=headers,
        catalog_id=catalog_id,
    )


def progress(catalog_id: str) -> dict[str, Any]:
    return call(
        "GET",
        f"/catalogs/{catalog_id}/enrichments",
        "/catalogs/{catalog_id}/enrichments",
        catalog_id=catalog_id,
    )


def work_one(pipeline: Pipeline) -> dict[str, Any]:
    """Deliver the next enrichment message to the worker, as Lambda would (batch size 1)."""
    from enrichment_worker.handler import handler

    queue = pipeline.resources.enrichment
    return deliver_one(handler, queue.url, queue.arn)


def work_all(pipeline: Pipeline, limit: int = 50) -> int:
    """Work the queue's messages one by one until it is empty (at most `limit`)."""
    worked = 0
    while worked < limit and visible_count(pipeline) > 0:
        work_one(pipeline)
        worked += 1
    return worked


def visible_count(pipeline: Pipeline) -> int:
    attributes = boto3.client("sqs", region_name=REGION).get_queue_attributes(
        QueueUrl=pipeline.resources.enrichment.url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])
