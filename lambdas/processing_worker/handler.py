"""The processing stage's worker (`orders.processing.Processing`), wired for this container."""

from __future__ import annotations

import shared.startup

from dataclasses import dataclass
from functools import lru_cache

# Before anything imports pydantic: Powertools' batch module then skips building its pydantic
# parser models (~100 ms of every cold start), which none of our functions uses.
import aws_lambda_powertools.utilities.batch  # noqa: F401

from orders.clients import InternalOrdersClient
from orders.messages import ProcessingRequested
from orders.processing import Processing
from orders.stages import PROCESSING
from orders.store import PayloadStore
from shared.event_store import EventStore
from shared.http_client import HttpClient
from shared.settings import get_settings
from shared.worker import (
    HttpWorkerSettings,
    StageRuntime,
    TrackedWorkerSettings,
    message_handler,
)


class ProcessingSettings(TrackedWorkerSettings, HttpWorkerSettings):
    processing_dlq_url: str
    payload_bucket_name: str
    internal_api_base_url: str


@dataclass(frozen=True)
class _Worker(Processing):
    """The stage with its adapters, and what runs its batches."""

    runtime: StageRuntime


@lru_cache(maxsize=1)
def _deps() -> _Worker:
    settings = get_settings(ProcessingSettings)
    events = EventStore(settings.events_table_name)
    return _Worker(
        payloads=PayloadStore(settings.payload_bucket_name),
        events=events,
        internal_api=InternalOrdersClient(
            HttpClient(settings.http_client), settings.internal_api_base_url
        ),
        runtime=StageRuntime.of(
            PROCESSING,
            settings,
            dlq_url=settings.processing_dlq_url,
            concurrency=settings.http_client.pool_size,
            events=events,
        ),
    )


handler = message_handler(PROCESSING, _deps, ProcessingRequested)

shared.startup.loaded()  # last: every object of the cold start is built
