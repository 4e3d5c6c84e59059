"""The products table: enriched (or failed) products, one item per catalog and product id,
written a batch at a time (BatchWriteItem)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from catalog.store.table import put_in_batches
from shared import aws_clients
from shared.dynamo import stored, utc_now

_KEYS_PER_READ = 100  # the BatchGetItem maximum


class ProductStore:
    def __init__(self, table_name: str) -> None:
        self._resource = aws_clients.dynamodb()
        self._table = self._resource.Table(table_name)
        self._name = table_name

    def done(self, catalog_id: str, tracking_id: str, product_ids: Iterable[str]) -> set[str]:
        """The products this enrichment already finished (enriched or failed for good)."""
        keys = [{"catalog_id": catalog_id, "product_id": pid} for pid in product_ids]
        found: set[str] = set()
        for start in range(0, len(keys), _KEYS_PER_READ):
            request: dict[str, Any] = {
                self._name: {
                    "Keys": keys[start : start + _KEYS_PER_READ],
                    "ProjectionExpression": "product_id, tracking_id",
                    "ConsistentRead": True,
                }
            }
            while request:
                response = self._resource.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._name, []):
                    if item.get("tracking_id") == tracking_id:
                        found.add(str(item["product_id"]))
                request = response.get("UnprocessedKeys") or {}
        return found

    def put_many(
        self, catalog_id: str, tracking_id: str, products: dict[str, dict[str, Any]]
    ) -> int:
        """Write product id → fields for this enrichment, 25 per BatchWriteItem; raises
        `WritesIncompleteError` when DynamoDB keeps some unprocessed. Unconditional (batch
        writes take no condition), which is safe: the key is the product, and this enrichment
        writes a product only with what the provider answered for it (a redelivered batch skips
        the products it finished, `done`). Returns the calls made."""
        now = utc_now()
        items = [
            {
                **stored(fields),
                "catalog_id": catalog_id,
                "product_id": product_id,
                "tracking_id": tracking_id,
                "written_at": now,
            }
            for product_id, fields in products.items()
        ]
        return put_in_batches(self._resource, self._name, items)
