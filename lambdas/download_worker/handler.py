"""The download stage's worker (`orders.download.Download`), wired for this container."""

from __future__ import annotations

import shared.startup

from dataclasses import dataclass
from functools import lru_cache

# Before anything imports pydantic: Powertools' batch module then skips building its pydantic
# parser models (~100 ms of every cold start), which none of our functions uses.
import aws_lambda_powertools.utilities.batch  # noqa: F401

from orders.clients import MarketplaceClient
from orders.download import Download
from orders.messages import DownloadRequested
from orders.stages import DOWNLOAD
from orders.store import PayloadStore
from shared.event_store import EventStore
from shared.http_client import HttpClient
from shared.secrets import get_secret
from shared.settings import get_settings
from shared.worker import (
    HttpWorkerSettings,
    StageRuntime,
    TrackedWorkerSettings,
    message_handler,
)


class DownloadSettings(TrackedWorkerSettings, HttpWorkerSettings):
    download_dlq_url: str
    payload_bucket_name: str
    processing_queue_url: str
    marketplace_api_base_url: str
    marketplace_token_secret_name: str


@dataclass(frozen=True)
class _Worker(Download):
    """The stage with its adapters, and what runs its batches."""

    runtime: StageRuntime


@lru_cache(maxsize=1)
def _deps() -> _Worker:
    settings = get_settings(DownloadSettings)
    events = EventStore(settings.events_table_name)
    token_secret = settings.marketplace_token_secret_name
    return _Worker(
        marketplace=MarketplaceClient(
            HttpClient(settings.http_client),
            settings.marketplace_api_base_url,
            lambda force: get_secret(token_secret, force_fetch=force),
        ),
        payloads=PayloadStore(settings.payload_bucket_name),
        events=events,
        processing_queue_url=settings.processing_queue_url,
        runtime=StageRuntime.of(
            DOWNLOAD,
            settings,
            dlq_url=settings.download_dlq_url,
            concurrency=settings.http_client.pool_size,
            events=events,
        ),
    )


handler = message_handler(DOWNLOAD, _deps, DownloadRequested)

shared.startup.loaded()  # last: every object of the cold start is built
