"""The catalog enrichment request's intake: validate it whole (every offending product listed),
then start it (`catalog.queueing`: record the enrichment and its batches, queue them) and answer
with a tracking id, once per `Idempotency-Key`. Nothing is reported as started that is not fully
queued: a request whose batches could not all be queued is a 503.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import Field

from catalog.queueing import Enrichments, QueueingError
from catalog.requests import (
    MAX_BATCH_SIZE,
    MAX_PRODUCTS,
    MIN_BATCH_SIZE,
    EnrichmentRequest,
    validate_request,
)
from catalog.store import CatalogBusyError, WritesIncompleteError
from shared.api import ApiError, ErrorCode, header, unavailable
from shared.intake import idempotency_answers
from shared.metric_names import Metric
from shared.metrics import count
from shared.observability import logger
from shared.settings import FunctionSettings
from shared.webhook_requests import WebhookRequests

REQUESTS = WebhookRequests(rejected_metric=Metric.ENRICHMENT_REQUEST_REJECTED)
ID_PATTERN = r"^[A-Za-z0-9._@:\-]{1,128}$"
_ID = re.compile(ID_PATTERN)
MAX_DETAILS = 200
IDEMPOTENCY = IdempotencyConfig(
    event_key_jmespath="[catalog_id, idempotency_key]",
    payload_validation_jmespath="payload_sha256",
    expires_after_seconds=24 * 3600,
)


class CatalogIntakeSettings(FunctionSettings):
    enrichment_table_name: str
    idempotency_table_name: str
    enrichment_queue_url: str
    default_batch_size: int = Field(ge=MIN_BATCH_SIZE, le=MAX_BATCH_SIZE)
    max_products: int = Field(ge=1, le=MAX_PRODUCTS)  # the env's `enrichment.max_products`
    max_body_bytes: int = Field(ge=1)  # the env's `api.max_request_body_bytes`


@dataclass(frozen=True)
class EnrichmentIntake:
    settings: CatalogIntakeSettings
    enrichments: Enrichments
    persistence: BasePersistenceLayer  # the idempotency records of `Idempotency-Key`s

    def receive(
        self, event: APIGatewayProxyEvent, lambda_context: Any, catalog_id: str
    ) -> dict[str, Any]:
        """The started enrichment (its tracking id and size), or an `ApiError`."""
        # The body is read here, not by the resolver: every offending product is listed at once.
        body = REQUESTS.raw_body(event, self.settings.max_body_bytes)
        request = _valid_request(REQUESTS.json_document(event, body), self.settings.max_products)
        key = header(event, "Idempotency-Key")
        if key is not None:
            key = identifier("Idempotency-Key", key)
        try:
            if key is None:
                answer = self.enrichments.start(catalog_id, request, None)
            else:
                payload_sha256 = hashlib.sha256(body).hexdigest()
                answer = self._start_once(lambda_context, catalog_id, request, key, payload_sha256)
        except CatalogBusyError as exc:
            raise ApiError(
                HTTPStatus.CONFLICT,
                ErrorCode.CONFLICT,
                f"catalog {catalog_id} is being enriched: tracking id {exc.tracking_id}",
                details=[
                    {"field": "catalog_id", "message": "running", "tracking_id": exc.tracking_id}
                ],
            ) from exc
        except QueueingError as exc:
            logger.error(
                "enrichment not fully queued",
                extra={"tracking_id": exc.tracking_id, "unsent": exc.unsent},
            )
            raise unavailable(
                "the enrichment could not be queued; retry with the same Idempotency-Key to "
                "finish it"
                if exc.resumable
                else "the enrichment could not be queued and was cancelled; retry"
            ) from exc
        except (BotoCoreError, ClientError, WritesIncompleteError) as exc:
            logger.exception("enrichment not started")
            raise unavailable("the enrichment could not be started; retry") from exc
        count(Metric.ENRICHMENT_REQUESTED)
        logger.info("enrichment started", extra=answer)
        return answer

    def _start_once(
        self,
        lambda_context: Any,
        catalog_id: str,
        request: EnrichmentRequest,
        key: str,
        payload_sha256: str,
    ) -> dict[str, Any]:
        """The same key returns the same answer and queues nothing new (Powertools
        Idempotency)."""
        IDEMPOTENCY.register_lambda_context(lambda_context)

        def start_enrichment_once(job: dict[str, str]) -> dict[str, Any]:
            return self.enrichments.start(job["catalog_id"], request, job["idempotency_key"])

        start: Any = idempotent_function(
            data_keyword_argument="job", config=IDEMPOTENCY, persistence_store=self.persistence
        )(start_enrichment_once)
        job = {"catalog_id": catalog_id, "idempotency_key": key, "payload_sha256": payload_sha256}
        with idempotency_answers(
            in_progress="a request with this Idempotency-Key is in progress; retry shortly",
            retry_after_seconds=2,
            reused=lambda: ApiError(
                HTTPStatus.CONFLICT,
                ErrorCode.CONFLICT,
                "this Idempotency-Key was used with a different request body",
            ),
        ):
            return dict(start(job=job))


def identifier(name: str, value: str) -> str:
    """`value` when it is an id this API accepts (the paths' ids, `Idempotency-Key`)."""
    if not _ID.match(value):
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            ErrorCode.VALIDATION_ERROR,
            f"{name}: 1 to 128 letters, digits or . _ @ : -",
            details=[{"field": name, "message": "invalid identifier"}],
        )
    return value


def _valid_request(document: Any, max_products: int) -> EnrichmentRequest:
    request, problems = validate_request(document, max_products=max_products)
    if request is not None:
        return request
    details = [p.model_dump(exclude_none=True) for p in problems]
    raise REQUESTS.reject(
        "validation",
        ApiError(
            HTTPStatus.BAD_REQUEST,
            ErrorCode.VALIDATION_ERROR,
            f"the enrichment request is invalid: {len(problems)} problems"
            + (f" (the first {MAX_DETAILS} are listed)" if len(problems) > MAX_DETAILS else ""),
            details=details[:MAX_DETAILS],
        ),
    )
