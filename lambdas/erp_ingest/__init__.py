"""ERP ingest function: POST /webhooks/zoho/{entity}."""
