"""The pipeline as an integration test gets it (the `pipeline` fixture of tests/conftest.py): its
resources on moto, the signing secret, and the stand-ins for the partners' APIs; and the
per-container caches the functions keep, which a test clears as a cold start would."""

from __future__ import annotations

from dataclasses import dataclass

from local.http_stub import RecordedRequest, StubResponse, StubServer
from local.provider_api import ProductDataApi
from tests.support.aws import Resources
from tests.support.orders import marketplace_order

MARKETPLACE_TOKEN = "mkt-token-for-tests"  # a test value, not a real secret


@dataclass
class Pipeline:
    resources: Resources
    signing_secret: str
    marketplace: StubServer
    internal_api: StubServer
    provider: ProductDataApi


def cold_start() -> None:
    """Forget every per-container cache, as a new Lambda execution environment would."""
    from catalog_api import handler as catalog_handler
    from download_worker import handler as download_handler
    from enrichment_worker import handler as enrichment_handler
    from erp_ingest import handler as erp_ingest_handler
    from erp_sync_worker import handler as erp_sync_handler
    from ops_api import handler as events_handler
    from ops_api import operations as ops_operations
    from processing_worker import handler as processing_handler
    from shared import aws_clients, intake, secrets
    from shared.breaker import circuit, mappings
    from shared.settings import get_settings

    get_settings.cache_clear()
    circuit.stage_breakers.cache_clear()
    mappings.lambda_client.cache_clear()
    aws_clients.reset()
    secrets.reset()
    intake.idempotent_accept.cache_clear()
    download_handler._deps.cache_clear()
    erp_ingest_handler._latest_deliveries.cache_clear()
    erp_sync_handler._deps.cache_clear()
    enrichment_handler._deps.cache_clear()
    catalog_handler._enrichments.cache_clear()
    catalog_handler._persistence.cache_clear()
    processing_handler._deps.cache_clear()
    events_handler._events.cache_clear()
    ops_operations._health_clients.cache_clear()


def serve_orders(request: RecordedRequest) -> StubResponse:
    """The marketplace's GET /orders/{id}, for the tests' token only."""
    if request.headers.get("Authorization") != f"Bearer {MARKETPLACE_TOKEN}":
        return StubResponse(401, {"error": "unauthorized"})
    order_id = request.path.rsplit("/", 1)[-1]
    return StubResponse(200, marketplace_order(order_id))


def accept_order(request: RecordedRequest) -> StubResponse:
    """The internal orders API's POST /orders."""
    key = request.headers.get("Idempotency-Key", "")
    return StubResponse(201, {"id": f"INT-{key[:8]}"})
