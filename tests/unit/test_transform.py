"""The anti-corruption adapter: marketplace order → internal order."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.jurisdictions import UnknownJurisdictionError
from orders.marketplace import MarketplaceOrder
from orders.transform import OrderTransformError, to_internal_order
from tests.support.orders import marketplace_order


def transform(document: dict[str, object]) -> object:
    return to_internal_order(MarketplaceOrder.model_validate(document), event_id="evt-1")


def test_a_marketplace_order_maps_to_the_internal_model() -> None:
    order = to_internal_order(
        MarketplaceOrder.model_validate(marketplace_order("QO-100001", state="texas")),
        event_id="evt-1",
    )
    assert order.source == "qualia"
    assert order.external_order_id == "QO-100001"
    assert order.external_order_number == "2026-100001"
    assert order.product_code == "TITLE_SEARCH"
    assert order.property_address.jurisdiction_code == "TX"
    assert order.property_address.jurisdiction_name == "Texas"
    assert order.property_address.line1 == "100 Congress Ave"
    assert order.property_address.postal_code == "78701"
    assert [(p.role, p.name) for p in order.parties] == [
        ("buyer", "Ada Lovelace"),
        ("seller", "Charles Babbage"),
    ]
    assert order.total_fees == Decimal("165.50")
    assert order.currency == "USD"
    assert str(order.due_date) == "2026-11-30"
    assert order.source_event_id == "evt-1"


def test_an_unknown_state_raises_naming_it() -> None:
    with pytest.raises(UnknownJurisdictionError, match="'Narnia'"):
        transform(marketplace_order(state="Narnia"))


def test_fees_in_several_currencies_are_refused() -> None:
    document = marketplace_order()
    document["fees"] = [
        {"description": "a", "amount": "1.00", "currency": "USD"},
        {"description": "b", "amount": "1.00", "currency": "CAD"},
    ]
    with pytest.raises(OrderTransformError, match="currencies"):
        transform(document)


def test_an_order_without_fees_totals_zero() -> None:
    document = {**marketplace_order(), "fees": []}
    order = to_internal_order(MarketplaceOrder.model_validate(document), event_id="e")
    assert order.total_fees == Decimal("0.00")
