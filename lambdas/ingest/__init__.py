"""Ingest function: POST /webhooks/qualia, the marketplace's order webhooks."""
