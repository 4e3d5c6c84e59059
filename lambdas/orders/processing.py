"""The processing stage: S3 (checksum verified) → internal order model → internal API →
PROCESSED. A ping is checked against the document it stored and does not call the internal API."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from orders.clients import InternalOrdersClient
from orders.jurisdictions import UnknownJurisdictionError
from orders.marketplace import MarketplaceOrder
from orders.messages import ProcessingRequested
from orders.ping import PING_OUTCOME, is_ping_document
from orders.store import PayloadStore
from orders.transform import OrderTransformError, to_internal_order
from shared.errors import NonRetryableError
from shared.event_status import EventStatus
from shared.event_store import EventStore
from shared.metric_names import Metric
from shared.metrics import count
from shared.observability import logger


@dataclass(frozen=True)
class Processing:
    payloads: PayloadStore
    events: EventStore
    internal_api: InternalOrdersClient

    def run(self, message: ProcessingRequested) -> None:
        raw = self.payloads.get_verified(message.s3_key, message.s3_version_id, message.sha256)
        if message.ping:
            if not is_ping_document(raw, message.event_id):
                raise NonRetryableError("the ping's stored document is not the ping it sent")
            self.events.transition(
                message.event_id, EventStatus.PROCESSED, attributes={"outcome": PING_OUTCOME}
            )
            logger.info("ping processed; the internal API was not called")
            return
        order = _order(raw, message)
        try:
            internal = to_internal_order(order, event_id=message.event_id)
        except (UnknownJurisdictionError, OrderTransformError) as exc:
            raise NonRetryableError(str(exc)) from exc
        internal_id = self.internal_api.create_order(internal, idempotency_key=message.event_id)
        self.events.transition(
            message.event_id, EventStatus.PROCESSED, attributes={"internal_order_id": internal_id}
        )
        count(Metric.ORDER_PROCESSED)
        logger.info("order processed", extra={"internal_order_id": internal_id})


def _order(raw: bytes, message: ProcessingRequested) -> MarketplaceOrder:
    """The stored document as a marketplace order of this message; never retried when it is
    not one (the same bytes would fail the same way)."""
    try:
        order = MarketplaceOrder.model_validate_json(raw)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in err["loc"]) for err in exc.errors()})
        raise NonRetryableError(f"marketplace order is invalid: {', '.join(fields)}") from exc
    if order.id != message.order_id:
        raise NonRetryableError(f"payload is order {order.id}, expected {message.order_id}")
    return order
