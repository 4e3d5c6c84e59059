"""Who sends events and which pipeline they belong to: the values stored on every event and used
in object keys, idempotency keys and queries. Standard library only: infra imports it too."""

from __future__ import annotations

from enum import StrEnum


class Source(StrEnum):
    MARKETPLACE = "qualia"  # marketplace order webhooks, and the order documents' S3 prefix
    ERP = "zoho"  # ERP entity webhooks, their inbox keys and large data's S3 prefix


class Pipeline(StrEnum):
    MARKETPLACE_ORDERS = "marketplace_orders"
    ERP_ENTITY_SYNC = "erp_entity_sync"
    CATALOG_ENRICHMENT = "catalog_enrichment"
