"""Marketplace order documents as the marketplace API serves them."""

from __future__ import annotations

from typing import Any


def marketplace_order(order_id: str = "QO-123456", *, state: str = "Texas") -> dict[str, Any]:
    return {
        "id": order_id,
        "orderNumber": f"2026-{order_id[3:]}",
        "status": "ready_for_download",
        "createdAt": "2026-11-20T15:04:05Z",
        "product": {"code": "title_search", "name": "Full title search"},
        "property": {
            "address": {
                "line1": "100 Congress Ave ",
                "line2": "Suite 400",
                "city": "Austin",
                "state": state,
                "postalCode": "78701",
                "county": "Travis",
            },
            "parcelNumber": "0201-0304-05",
        },
        "parties": [
            {"role": "Buyer", "name": "Ada Lovelace", "email": "ada@example.com"},
            {"role": "Seller", "name": "Charles Babbage"},
        ],
        "fees": [
            {"description": "Search fee", "amount": "125.00", "currency": "USD"},
            {"description": "Rush", "amount": "40.50", "currency": "USD"},
        ],
        "dueDate": "2026-11-30",
        "internalNotes": "fields the pipeline does not know are ignored",
    }
