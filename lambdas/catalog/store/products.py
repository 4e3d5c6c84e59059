"""The products table: enriched (or failed) products, one item per catalog and product id."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shared import aws_clients
from shared.dynamo import if_condition_holds, stored, utc_now

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

    def put(
        self, catalog_id: str, product_id: str, tracking_id: str, fields: dict[str, Any]
    ) -> bool:
        """Write once per enrichment: False when this enrichment already wrote the product."""
        written = if_condition_holds(
            lambda: self._table.put_item(
                Item={
                    **stored(fields),
                    "catalog_id": catalog_id,
                    "product_id": product_id,
                    "tracking_id": tracking_id,
                    "written_at": utc_now(),
                },
                ConditionExpression="attribute_not_exists(product_id) OR tracking_id <> :tracking",
                ExpressionAttributeValues={":tracking": tracking_id},
            )
        )
        return written is not None
