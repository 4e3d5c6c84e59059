"""The enrichment stage's worker (`catalog.stages.Enrichment`), wired for this container. It
tracks its batches in the enrichment table, not the events table, and needs no events table."""

from __future__ import annotations

import shared.startup

from dataclasses import dataclass
from functools import lru_cache

# Before anything imports pydantic: Powertools' batch module then skips building its pydantic
# parser models (~100 ms of every cold start), which none of our functions uses.
import aws_lambda_powertools.utilities.batch  # noqa: F401
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from catalog.messages import EnrichmentBatchRequested
from catalog.provider import ProviderClient
from catalog.stages import ENRICH, Enrichment
from catalog.store import EnrichmentStore, ProductStore
from shared.http_client import HttpClient
from shared.secrets import get_secret
from shared.settings import get_settings
from shared.worker import HttpWorkerSettings, StageRuntime, message_handler


class EnrichmentWorkerSettings(HttpWorkerSettings):
    enrichment_table_name: str
    products_table_name: str
    enrichment_dlq_url: str
    provider_api_base_url: str
    provider_key_secret_name: str


@dataclass(frozen=True)
class _Worker(Enrichment):
    """The stage with its adapters, and what runs its batches."""

    runtime: StageRuntime


@lru_cache(maxsize=1)
def _deps() -> _Worker:
    settings = get_settings(EnrichmentWorkerSettings)
    key_secret = settings.provider_key_secret_name
    return _Worker(
        batches=EnrichmentStore(settings.enrichment_table_name),
        products=ProductStore(settings.products_table_name),
        provider=ProviderClient(
            http=HttpClient(settings.http_client),
            base_url=settings.provider_api_base_url,
            api_key=lambda: get_secret(key_secret),
        ),
        pool_size=settings.http_client.pool_size,
        runtime=StageRuntime.of(
            ENRICH,
            settings,
            dlq_url=settings.enrichment_dlq_url,
            concurrency=settings.http_client.pool_size,
            on_dead_letter=_batch_failed,
        ),
    )


def _batch_failed(sqs_record: SQSRecord, reason: str) -> None:
    try:
        message = EnrichmentBatchRequested.model_validate_json(sqs_record.body)
    except ValidationError:
        return  # malformed: nothing to attribute it to
    _deps().batch_failed(message, reason)


handler = message_handler(ENRICH, _deps, EnrichmentBatchRequested)

shared.startup.loaded()  # last: every object of the cold start is built
