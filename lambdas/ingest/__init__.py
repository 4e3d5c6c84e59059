"""Ingest function: POST /webhooks/qualia."""
