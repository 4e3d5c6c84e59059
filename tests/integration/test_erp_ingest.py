"""POST /webhooks/zoho/{entity} on moto: auth, per-entity validation, inbox, priority lanes."""

from __future__ import annotations

import json

import pytest

from erp.entities import ROUTES, EntityType
from tests.support import tables
from tests.support.aws import ERP_KEY, ERP_OLD_KEY
from tests.support.erp import LANES, VALID_DATA, body, post
from tests.support.lambda_events import response_json
from tests.support.pipeline import Pipeline
from tests.support.pump import receive


@pytest.mark.parametrize(("route", "entity"), list(ROUTES.items()))
def test_each_entity_is_accepted_into_its_priority_lane(
    pipeline: Pipeline, route: str, entity: EntityType
) -> None:
    response = post(route, body(entity, VALID_DATA[entity]))

    assert response["statusCode"] == 202
    data = response_json(response)["data"]
    assert data["lane"] == LANES[route]
    [message] = receive(pipeline.resources.erp_lanes[LANES[route]].url)
    sent = json.loads(message["Body"])
    assert sent["event_id"] == data["event_id"]
    assert sent["entity_type"] == entity.value
    [item] = tables.all_events()
    assert item["status"] == "QUEUED"
    assert item["pipeline"] == "erp_entity_sync"
    assert item["idempotency_key"].startswith(f"zoho:{entity.value}:E-1:update:")
    assert item["lane"] == LANES[route]
    assert "X-Webhook-Key" not in json.dumps(item, default=str)
    assert ERP_KEY not in json.dumps(item, default=str)


def test_an_unknown_entity_is_404_in_the_envelope(pipeline: Pipeline) -> None:
    response = post("orders-of-magnitude", {})
    assert response["statusCode"] == 404
    assert response_json(response)["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("key", [None, "guess", ERP_KEY + "x"])
def test_a_missing_or_wrong_key_is_401(pipeline: Pipeline, key: str | None) -> None:
    response = post("products", body(EntityType.PRODUCT, VALID_DATA[EntityType.PRODUCT]), key=key)
    assert response["statusCode"] == 401
    assert response_json(response)["error"]["code"] == "AUTH_ERROR"
    assert tables.all_events() == []


def test_the_previous_key_still_works_during_rotation(pipeline: Pipeline) -> None:
    response = post("stock", body(EntityType.STOCK, VALID_DATA[EntityType.STOCK]), key=ERP_OLD_KEY)
    assert response["statusCode"] == 202


def test_an_invalid_webhook_is_400_listing_every_field_and_kept_as_rejected(
    pipeline: Pipeline,
) -> None:
    document = body(EntityType.INVOICE, {"invoice_id": "INV-1"}, entity_type="bill")
    response = post("invoices", document, **{"User-Agent": "zoho-hooks/1.0"})

    assert response["statusCode"] == 400
    error = response_json(response)["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert {d["field"] for d in error["details"]} == {
        "entity_type", "data.customer_id", "data.total"
    }  # fmt: skip
    [item] = tables.all_events()
    assert item["status"] == "REJECTED"
    assert {e["field"] for e in item["errors"]} == {"entity_type", "data.customer_id", "data.total"}
    assert item["headers"]["user-agent"] == "zoho-hooks/1.0"
    assert item["source_ip"] == "203.0.113.10"
    for lane in pipeline.resources.erp_lanes.values():
        assert receive(lane.url) == []


def test_an_identical_redelivery_is_a_duplicate_with_the_original_event_id(
    pipeline: Pipeline,
) -> None:
    document = body(EntityType.PRODUCT, VALID_DATA[EntityType.PRODUCT])
    first = response_json(post("products", document))["data"]

    again = post("products", document)

    assert again["statusCode"] == 200
    assert response_json(again)["data"]["event_id"] == first["event_id"]
    assert response_json(again)["data"]["duplicate"] is True
    assert len(receive(pipeline.resources.erp_lanes["standard"].url)) == 1


def test_a_later_update_with_different_data_is_a_new_event(pipeline: Pipeline) -> None:
    first = post("products", body(EntityType.PRODUCT, VALID_DATA[EntityType.PRODUCT]))
    changed = post(
        "products",
        body(EntityType.PRODUCT, {**VALID_DATA[EntityType.PRODUCT], "name": "Widget v2"}),
    )

    assert (first["statusCode"], changed["statusCode"]) == (202, 202)
    ids = {response_json(r)["data"]["event_id"] for r in (first, changed)}
    assert len(ids) == 2
    assert len(receive(pipeline.resources.erp_lanes["standard"].url)) == 2
