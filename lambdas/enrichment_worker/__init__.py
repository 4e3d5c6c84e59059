"""Enrichment worker: enriches each queued catalog batch through the product-data provider."""
