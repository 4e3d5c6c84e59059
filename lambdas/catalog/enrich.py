"""Enriching one batch: its products concurrently on a bounded pool, each ending as enriched
(with its fields, which the caller writes in batches), failed (with the reason), or hit by
provider trouble (retried later by SQS).

Stops early, instead of hammering a provider in trouble, once a whole wave of lookups (the pool
size) or half of the batch has failed that way.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from catalog.provider import EnrichedFields, InvalidProviderDataError, UnknownProductError
from catalog.requests import Product
from shared.errors import RetryableError


@dataclass
class BatchResult:
    enriched: list[str] = field(default_factory=list)
    fields: dict[str, EnrichedFields] = field(default_factory=dict)  # of the enriched ones
    failed: list[dict[str, str]] = field(default_factory=list)  # product_id, reason
    troubled: list[str] = field(default_factory=list)  # provider trouble: retry these
    last_trouble: str = ""
    stopped_early: bool = False


def enrich_batch(
    products: list[Product],
    lookup: Callable[[Product], EnrichedFields],
    pool_size: int,
) -> BatchResult:
    result = BatchResult()
    if not products:
        return result
    stop_after = max(1, min(pool_size, math.ceil(len(products) / 2)))
    order = {p.product_id: index for index, p in enumerate(products)}
    queue = list(products)
    with ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="product") as pool:
        running: dict[Future[EnrichedFields], Product] = {}
        while queue or running:
            # New lookups only while the provider answers more than it fails.
            answered = len(result.enriched) + len(result.failed)
            while queue and len(running) < pool_size and len(result.troubled) <= answered:
                product = queue.pop(0)
                running[pool.submit(lookup, product)] = product
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                _settle(result, running.pop(future), future)
            if len(result.troubled) >= stop_after:
                break
        for future, product in running.items():  # finish what is in flight, start nothing
            _settle(result, product, future)
    if queue:
        result.stopped_early = True
        result.troubled.extend(p.product_id for p in queue)
    result.failed.sort(key=lambda f: order[f["product_id"]])
    return result


def _settle(result: BatchResult, product: Product, future: Future[EnrichedFields]) -> None:
    try:
        fields = future.result()
    except UnknownProductError as exc:
        result.failed.append({"product_id": product.product_id, "reason": str(exc)})
    except InvalidProviderDataError as exc:
        result.failed.append({"product_id": product.product_id, "reason": str(exc)[:300]})
    except RetryableError as exc:
        result.troubled.append(product.product_id)
        result.last_trouble = str(exc)
    else:
        result.enriched.append(product.product_id)
        result.fields[product.product_id] = fields
