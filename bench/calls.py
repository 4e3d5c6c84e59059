"""AWS calls and DynamoDB capacity per unit of work, for every stage of the three pipelines.

Each stage runs in-process on moto with the dev template's resources (`bench.batch_setup`, as the
integration tests provision them), warm: one unit first, not counted (a container's first
invoke also reads its secrets), then `n` units counted by `bench.capacity` on the functions' own
clients. What Lambda's event source mapping does (receive, delete) is not the function's and is
not counted; a batch is handed to the worker as the mapping would.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from bench.capacity import Meter, Usage
from bench.model import Row, Section, StageUsage

INGEST_MAX_CALLS = 3
INGEST_MAX_WCU = 5
ENRICHMENT_BATCH = 20
_ids = itertools.count(500000)


@dataclass(frozen=True)
class Counted:
    """One stage's usage over `units` units of work, each `records` records (or products)."""

    pipeline: str
    stage: str
    unit: str
    units: int
    usage: Usage
    units_per_webhook: float = 1.0

    def per_unit(self, value: float) -> float:
        return value / self.units

    def calls_per_unit(self) -> dict[str, float]:
        return {name: n / self.units for name, n in sorted(self.usage.calls.items())}


@contextmanager
def _metered() -> Iterator[Meter]:
    from shared import aws_clients

    meter = Meter()
    clients = [
        aws_clients.dynamodb_client(),
        aws_clients.sqs(),
        aws_clients.s3(),
        aws_clients.secretsmanager(),
    ]
    try:  # the circuit breaker's client, where the breaker exists
        from shared.breaker.mappings import lambda_client

        clients.append(lambda_client())
    except ImportError:
        pass
    for client in clients:
        meter.attach(client)
    yield meter


def _batch(queue: Any, n: int) -> dict[str, Any]:
    """The SQS event of `n` messages of `queue`, as the event source mapping builds it."""
    from tests.support.lambda_events import sqs_event
    from tests.support.pump import receive

    messages: list[dict[str, Any]] = []
    for _ in range(20):
        messages += receive(queue.url, min(10, n - len(messages)))
        if len(messages) >= n:
            return sqs_event(messages[:n], queue.arn)
    raise RuntimeError(f"{queue.url} holds {len(messages)} messages, the batch needs {n}")


def _invoke(handler: Callable[..., Any], event: dict[str, Any]) -> Any:
    from tests.support.lambda_events import FakeLambdaContext

    response = handler(event, FakeLambdaContext())
    failures = (response or {}).get("batchItemFailures") if isinstance(response, dict) else None
    if failures:
        raise RuntimeError(f"{handler.__module__}: {len(failures)} records failed")
    return response


def _orders(bench: Any, meter: Meter, n: int) -> list[Counted]:
    from download_worker.handler import handler as download
    from processing_worker.handler import handler as processing
    from tests.support.flows import accept_webhook

    resources = bench.resources
    accept_webhook(bench.signing_secret, f"QO-{next(_ids)}")  # warm, not counted
    _invoke(download, _batch(resources.download, 1))
    _invoke(processing, _batch(resources.processing, 1))
    with meter.armed() as ingest:
        for _ in range(n):
            accept_webhook(bench.signing_secret, f"QO-{next(_ids)}")
    with meter.armed() as downloaded:
        _invoke(download, _batch(resources.download, n))
    with meter.armed() as processed:
        _invoke(processing, _batch(resources.processing, n))
    return [
        Counted("orders", "ingest", "webhook", n, ingest),
        Counted("orders", "download", f"batch of {n} records", 1, downloaded, 1 / n),
        Counted("orders", "processing", f"batch of {n} records", 1, processed, 1 / n),
    ]


def _erp_webhook() -> dict[str, Any]:
    from erp.entities import EntityType
    from tests.support.erp import VALID_DATA, body

    data = VALID_DATA[EntityType.PRODUCT]
    return body(EntityType.PRODUCT, data, entity_id=f"E-{next(_ids)}")


def _erp(bench: Any, meter: Meter, n: int) -> list[Counted]:
    from erp_sync_worker.handler import handler as sync
    from tests.support.erp import accept

    lane = bench.resources.erp_lanes["standard"]
    accept("products", _erp_webhook())  # warm, not counted
    _invoke(sync, _batch(lane, 1))
    with meter.armed() as ingest:
        for _ in range(n):
            accept("products", _erp_webhook())
    with meter.armed() as synced:
        _invoke(sync, _batch(lane, n))
    return [
        Counted("erp", "erp-ingest", "webhook", n, ingest),
        Counted("erp", "erp-sync", f"batch of {n} records", 1, synced, 1 / n),
    ]


def _catalog(bench: Any, meter: Meter, batches: int) -> list[Counted]:
    from enrichment_worker.handler import handler as enrich
    from tests.support.catalog import enrichment_body, start

    queue = bench.resources.enrichment
    products = batches * ENRICHMENT_BATCH

    def request(count: int) -> None:
        body = enrichment_body(count, batch_size=ENRICHMENT_BATCH)
        response = start(f"cat-{next(_ids)}", body, key=f"key-{next(_ids)}")
        if response["statusCode"] != 202:
            raise RuntimeError(f"enrichment refused: {json.loads(response['body'])}")

    request(ENRICHMENT_BATCH)  # warm, not counted
    _invoke(enrich, _batch(queue, 1))
    with meter.armed() as ingest:
        request(products)
    with meter.armed() as enriched:
        for _ in range(batches):
            _invoke(enrich, _batch(queue, 1))
    per_product = 1 / products
    return [
        Counted(
            "catalog", "catalog-ingest", f"request of {products} products", 1, ingest, per_product
        ),
        Counted(
            "catalog",
            "enrichment",
            f"batch of {ENRICHMENT_BATCH} products",
            batches,
            enriched,
            1 / ENRICHMENT_BATCH,
        ),
    ]


@cache
def counted(quick: bool) -> tuple[Counted, ...]:
    """Every stage, counted once per run (`measure` and `usage` share it)."""
    from bench.batch_setup import bench_pipeline, synthesized_template

    n = 3 if quick else 10
    with (
        synthesized_template() as cdk_out,
        bench_pipeline(cdk_out) as bench,
        _metered() as meter,
    ):
        return (
            *_orders(bench, meter, n),
            *_erp(bench, meter, n),
            *_catalog(bench, meter, 1 if quick else 3),
        )


def usage(quick: bool = False) -> list[StageUsage]:
    """Per unit of work of each stage, for `bench.cost` to price."""
    return [
        StageUsage(
            pipeline=c.pipeline,
            stage=c.stage,
            unit=c.unit,
            units_per_webhook=c.units_per_webhook,
            calls={name: round(n) for name, n in c.calls_per_unit().items()},
            read_units=c.per_unit(c.usage.read_units),
            write_units=c.per_unit(c.usage.write_units),
            index_write_units=c.per_unit(c.usage.index_write_units),
            s3_bytes_stored=round(c.per_unit(c.usage.s3_bytes_stored)),
            notes=[NOTES[0]],  # how the units were computed
        )
        for c in counted(quick)
    ]


def _rows(c: Counted) -> list[Row]:
    calls = sum(c.usage.calls.values()) / c.units
    wcu = c.per_unit(c.usage.write_units)
    ingest = c.stage == "ingest"
    return [
        Row(
            name=f"{c.stage}: AWS calls per {c.unit}",
            value=round(calls, 2),
            unit="calls",
            target=f"<= {INGEST_MAX_CALLS} calls" if ingest else None,
            meets_target=calls <= INGEST_MAX_CALLS if ingest else None,
        ),
        Row(
            name=f"{c.stage}: DynamoDB WCU per {c.unit}",
            value=round(wcu, 2),
            unit="WCU",
            target=f"<= {INGEST_MAX_WCU} WCU" if ingest else None,
            meets_target=wcu <= INGEST_MAX_WCU if ingest else None,
        ),
        Row(
            name=f"{c.stage}: of which index WCU",
            value=round(c.per_unit(c.usage.index_write_units), 2),
            unit="WCU",
        ),
        Row(
            name=f"{c.stage}: DynamoDB RCU per {c.unit}",
            value=round(c.per_unit(c.usage.read_units), 2),
            unit="RCU",
        ),
    ]


NOTES = [
    "WCU/RCU are computed from the items (moto reports no real consumed capacity): ceil(KB) of "
    "the larger of the item before and after each write, plus ceil(KB) per index entry written "
    "(projected attributes + 100 bytes; a key change is a delete and a put), a refused "
    "conditional write at the size of the item it found, transactions double; reads "
    "ceil(KB/4), halved when eventually consistent (filtered-out items of a Query not counted).",
    "ERP webhooks here carry `occurred_at`; one without it also reads and conditionally "
    "replaces the entity's latest delivery (idempotency table) first: not counted here.",
    "Warm containers: a unit first, not counted (a cold container also reads its secrets once). "
    "Retries inside botocore are not counted; the event source mapping's receives and deletes "
    "are Lambda's, not the function's.",
]


def measure(quick: bool = False) -> list[Section]:
    stages = counted(quick)
    breakdown = [
        f"{c.stage} per {c.unit}: "
        + ", ".join(f"{name} {n:g}" for name, n in c.calls_per_unit().items())
        for c in stages
    ]
    return [
        Section(
            key="calls",
            title="AWS calls and DynamoDB capacity per unit of work",
            method="Every stage driven in-process on moto with the dev template's resources; "
            "the functions' botocore calls counted by event hooks on their clients, capacity "
            "computed per write from the items before and after it.",
            rows=[row for c in stages for row in _rows(c)],
            notes=[*NOTES, *breakdown],
        )
    ]
