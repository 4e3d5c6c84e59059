"""Anti-corruption adapter: marketplace order document → internal order model (pure)."""

from __future__ import annotations

from decimal import Decimal

from orders.internal import InternalAddress, InternalOrder, InternalParty
from orders.jurisdictions import resolve_jurisdiction
from orders.marketplace import MarketplaceOrder
from shared.sources import Source


class OrderTransformError(ValueError):
    """The marketplace order cannot be expressed in the internal model."""


def to_internal_order(order: MarketplaceOrder, *, event_id: str) -> InternalOrder:
    """Raises `UnknownJurisdictionError` (naming the value) or `OrderTransformError`."""
    address = order.property.address
    jurisdiction = resolve_jurisdiction(address.state)
    currencies = {fee.currency for fee in order.fees} or {"USD"}
    if len(currencies) > 1:
        raise OrderTransformError(f"fees in several currencies: {sorted(currencies)}")
    return InternalOrder(
        source=Source.MARKETPLACE.value,
        external_order_id=order.id,
        external_order_number=order.order_number,
        external_status=order.status,
        ordered_at=order.created_at,
        product_code=order.product.code.upper(),
        property_address=InternalAddress(
            line1=address.line1.strip(),
            line2=address.line2.strip() if address.line2 else None,
            city=address.city.strip(),
            postal_code=address.postal_code,
            county=address.county.strip() if address.county else None,
            jurisdiction_code=jurisdiction.code,
            jurisdiction_name=jurisdiction.name,
        ),
        parcel_number=order.property.parcel_number,
        parties=tuple(
            InternalParty(role=p.role.lower(), name=p.name.strip()) for p in order.parties
        ),
        total_fees=sum((fee.amount for fee in order.fees), Decimal("0.00")),
        currency=currencies.pop(),
        due_date=order.due_date,
        source_event_id=event_id,
    )
