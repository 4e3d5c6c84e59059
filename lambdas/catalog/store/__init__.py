"""The catalog pipeline's stores: the enrichment status table and the products table.

Status table (partition `catalog_id`, sort `batch_id`):
- `latest`: which enrichment of the catalog is the newest and whether it still runs; the
  conditional write on it is what refuses a second concurrent enrichment.
- `<tracking_id>#summary`: the enrichment's counters, kept with atomic ADDs; it alone carries
  `created_at`, so the by-user index (user_id, created_at) lists enrichments, not batches.
- `<tracking_id>#b00001`...: one item per batch with its status, counts and attempts.

`EnrichmentStore` is that table: the API's writes (`store.requests`), the worker's
(`store.progress`) and the reads both share (`store.table`). `ProductStore` is the products table.
"""

from __future__ import annotations

from catalog.store.products import ProductStore
from catalog.store.progress import BatchProgress
from catalog.store.requests import EnrichmentRequests
from catalog.store.table import CatalogBusyError, WritesIncompleteError, batch_key, summary_key


class EnrichmentStore(EnrichmentRequests, BatchProgress):
    """The enrichment status table, for the API and the worker alike."""


__all__ = [
    "CatalogBusyError",
    "EnrichmentStore",
    "ProductStore",
    "WritesIncompleteError",
    "batch_key",
    "summary_key",
]
