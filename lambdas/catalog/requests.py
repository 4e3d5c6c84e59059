"""The enrichment request: validated as a whole, every offending product and field reported."""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

IDENTIFIERS = ("asin", "upc", "ean")
MIN_BATCH_SIZE, MAX_BATCH_SIZE = 5, 50
# The ceiling of any env's `enrichment.max_products` (and what the OpenAPI document states).
MAX_PRODUCTS = 10_000


class Product(BaseModel):
    """One product of the catalog; other fields the catalog keeps are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    product_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")
    asin: str | None = Field(default=None, pattern=r"^[A-Z0-9]{10}$")
    upc: str | None = Field(default=None, pattern=r"^[0-9]{12}$")
    ean: str | None = Field(default=None, pattern=r"^[0-9]{13}$")

    @property
    def identifier(self) -> tuple[str, str]:
        """The identifier the provider is asked for: ASIN first, then UPC, then EAN."""
        for name in IDENTIFIERS:
            value = getattr(self, name)
            if value:
                return name, value
        raise ValueError("a validated product always has an identifier")


class EnrichmentRequest(BaseModel):
    # Built at its first validation, not at import: the enrichment worker imports this module
    # for `Product` and never validates a request.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    user_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._@:\-]+$")
    # `ping`: ours, a synthetic enrichment (`ops smoke`) answered without calling a provider.
    provider: Literal["keepa", "ping"]
    batch_size: int | None = Field(default=None, ge=MIN_BATCH_SIZE, le=MAX_BATCH_SIZE)
    products: list[Product] = Field(min_length=1, max_length=MAX_PRODUCTS)


@cache
def _request_model(max_products: int) -> type[EnrichmentRequest]:
    """`EnrichmentRequest` with this env's product limit: a longer list is refused exactly as
    the model refuses one over the ceiling (the same field, the same message)."""
    if max_products == MAX_PRODUCTS:
        return EnrichmentRequest
    products: Any = (list[Product], Field(min_length=1, max_length=max_products))
    return create_model("EnrichmentRequest", __base__=EnrichmentRequest, products=products)


class Problem(BaseModel):
    # Built at the first refused request, not at every cold start.
    model_config = ConfigDict(defer_build=True)

    field: str
    message: str
    product_id: str | None = None


def _location(loc: tuple[int | str, ...], document: dict[str, Any]) -> tuple[str, str | None]:
    field = ".".join(str(part) for part in loc)
    product_id = None
    if len(loc) >= 2 and loc[0] == "products" and isinstance(loc[1], int):
        products = document.get("products")
        if isinstance(products, list) and loc[1] < len(products):
            item = products[loc[1]]
            if isinstance(item, dict) and isinstance(item.get("product_id"), str):
                product_id = item["product_id"]
    return field, product_id


def validate_request(
    document: Any, *, max_products: int
) -> tuple[EnrichmentRequest | None, list[Problem]]:
    """The request, or every problem found: schema errors (more than `max_products` products
    among them), products without an identifier, repeated product ids."""
    if not isinstance(document, dict):
        return None, [Problem(field="body", message="must be a JSON object")]
    problems: list[Problem] = []
    request = None
    try:
        request = _request_model(max_products).model_validate(document)
    except ValidationError as exc:
        for error in exc.errors():
            field, product_id = _location(error["loc"], document)
            problems.append(Problem(field=field, message=error["msg"], product_id=product_id))
    products = document.get("products")
    if isinstance(products, list):
        seen: set[str] = set()
        for index, item in enumerate(products):
            if not isinstance(item, dict):
                continue
            product_id = item.get("product_id")
            if not any(item.get(name) for name in IDENTIFIERS):
                problems.append(
                    Problem(
                        field=f"products.{index}",
                        message="needs at least one of asin, upc, ean",
                        product_id=product_id if isinstance(product_id, str) else None,
                    )
                )
            if isinstance(product_id, str):
                if product_id in seen:
                    problems.append(
                        Problem(
                            field=f"products.{index}.product_id",
                            message="repeats an earlier product_id",
                            product_id=product_id,
                        )
                    )
                seen.add(product_id)
    return (None, problems) if problems else (request, [])
