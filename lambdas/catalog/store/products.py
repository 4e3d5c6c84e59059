"""The products table: enriched (or failed) products, one item per catalog and product id,
written a batch at a time (BatchWriteItem)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from catalog.store.table import put_in_batches
from shared.dynamo import stored, utc_now
from shared.item_table import batch_get


class ProductStore:
    def __init__(self, table_name: str) -> None:
        self._name = table_name

    def done(self, catalog_id: str, tracking_id: str, product_ids: Iterable[str]) -> set[str]:
        """The products this enrichment already finished (enriched or failed for good)."""
        keys = [{"catalog_id": catalog_id, "product_id": pid} for pid in product_ids]
        read = batch_get(
            self._name, keys, ProjectionExpression="product_id, tracking_id", ConsistentRead=True
        )
        return {str(item["product_id"]) for item in read if item.get("tracking_id") == tracking_id}

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
        return put_in_batches(self._name, items)
