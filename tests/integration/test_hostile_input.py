"""Hostile input on every body route, on moto: each class is a 4xx in the envelope with a code,
counted under the route's rejection metric by reason, and nothing is stored or queued."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support import tables
from tests.support.aws import ERP_KEY
from tests.support.erp import post as post_erp
from tests.support.flows import post_webhook
from tests.support.lambda_events import FakeLambdaContext, api_event, response_json
from tests.support.output import emitted_metrics
from tests.support.pipeline import Pipeline
from tests.support.pump import receive
from tests.support.signing import signed_headers

DEEP = "[" * 4000 + "]" * 4000  # past Python 3.11's recursion limit, inside the body limit
NESTED_40 = '{"a":' * 40 + "1" + "}" * 40  # parses, but deeper than 32


def nothing_queued(pipeline: Pipeline) -> bool:
    queues = [pipeline.resources.download, *pipeline.resources.erp_lanes.values(),
              pipeline.resources.enrichment]  # fmt: skip
    return all(receive(q.url) == [] for q in queues)


def order_body(order_id: str = "QO-123456", **fields: Any) -> bytes:
    document = {
        "order_id": order_id,
        "event_type": "order.created",
        "timestamp": datetime.now(UTC).isoformat(),
        **fields,
    }
    return json.dumps(document, ensure_ascii=False).encode()


def erp_body(**changes: Any) -> str:
    document = {
        "event_type": "update",
        "entity_type": "invoice",
        "entity_id": "E-1",
        "data": {"invoice_id": "INV-1", "customer_id": "C-1", "total": 10},
        "occurred_at": datetime.now(UTC).isoformat(),
        **changes,
    }
    return json.dumps(document, ensure_ascii=False)


# (name, raw body with the attack, expected reason)
RAW_ATTACKS = [
    ("nan", b'{"order_id": "QO-123456", "n": NaN}', "non_finite"),
    ("infinity", b'{"order_id": "QO-123456", "n": -Infinity}', "non_finite"),
    ("deep", DEEP.encode(), "too_deep"),
    ("nested_40", NESTED_40.encode(), "too_deep"),
    ("long_number", b'{"n": 1' + b"0" * 60 + b"}", "number_too_long"),
    ("tiny_exponent", b'{"n": 1e-400}', "number_out_of_range"),
    ("huge_exponent", b'{"n": 1e400}', "number_out_of_range"),
    ("many_digits", b'{"n": 1.23456789012345678901234567890123456789}', "number_out_of_range"),
    ("duplicate_key", b'{"order_id": "QO-1", "order_id": "QO-2"}', "duplicate_key"),
    ("lone_surrogate", b'{"order_id": "\\ud800"}', "invalid_string"),
]


@pytest.mark.parametrize(("name", "body", "reason"), RAW_ATTACKS, ids=[a[0] for a in RAW_ATTACKS])
def test_bodies_that_are_not_strict_json_are_refused_on_the_order_route(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str], name: str, body: bytes, reason: str
) -> None:
    # Given a correctly signed body that is not strict JSON
    response = post_webhook(body, signed_headers(body, pipeline.signing_secret))

    # Then it is a 400 INVALID_JSON in the envelope, counted by reason, nothing recorded
    assert response["statusCode"] == 400, name
    answer = response_json(response)
    assert (answer["status"], answer["error"]["code"]) == ("failure", "INVALID_JSON")
    assert ("WebhookRejected", {"reason": reason, "service": "webhook-pipeline-tests"}) in (
        emitted_metrics(capsys.readouterr().out)
    )
    assert tables.all_events() == []
    assert nothing_queued(pipeline)


@pytest.mark.parametrize(("name", "body", "reason"), RAW_ATTACKS, ids=[a[0] for a in RAW_ATTACKS])
def test_bodies_that_are_not_strict_json_are_refused_on_the_erp_and_catalog_routes(
    pipeline: Pipeline, name: str, body: bytes, reason: str
) -> None:
    from erp_ingest.handler import handler as erp_handler

    erp = erp_handler(
        api_event(
            "POST",
            "/webhooks/zoho/invoices",
            resource="/webhooks/zoho/{entity}",
            body=body.decode("utf-8", "surrogatepass"),
            headers={"Content-Type": "application/json", "X-Webhook-Key": ERP_KEY},
            path_parameters={"entity": "invoices"},
        ),
        FakeLambdaContext(),
    )
    catalog = _catalog_raw(body)
    for response in (erp, catalog):
        assert response["statusCode"] == 400, (name, response["body"])
        assert response_json(response)["error"]["code"] == "INVALID_JSON"
    # Not even a REJECTED inbox record: these are refused before any model runs
    assert tables.all_events() == []
    assert nothing_queued(pipeline)


def _catalog_raw(body: bytes) -> dict[str, Any]:
    from catalog_api.handler import handler

    event = api_event(
        "POST",
        "/catalogs/c-1/enrichments",
        resource="/catalogs/{catalog_id}/enrichments",
        body=body.decode("utf-8", "surrogatepass"),
        headers={"Content-Type": "application/json"},
        path_parameters={"catalog_id": "c-1"},
    )
    return dict(handler(event, FakeLambdaContext()))


@pytest.mark.parametrize(
    "order_id",
    # Arabic-Indic digits, fullwidth digits, one Arabic-Indic digit among ASCII ones
    ["QO-\u0661\u0662\u0663\u0664", "QO-\uff11\uff12\uff13\uff14", "QO-12345\u0663"],
)
def test_order_ids_with_non_ascii_digits_are_refused(pipeline: Pipeline, order_id: str) -> None:
    body = order_body(order_id)
    response = post_webhook(body, signed_headers(body, pipeline.signing_secret))
    assert response["statusCode"] == 400
    [detail] = response_json(response)["error"]["details"]
    assert detail["field"] == "order_id"
    assert tables.all_events() == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"entity_id": "E-\u0661"}, "entity_id"),
        (
            {"data": {"invoice_id": "INV-\uff11", "customer_id": "C-1", "total": 10}},
            "data.invoice_id",
        ),
        (
            {"data": {"invoice_id": "INV-1", "customer_id": "C-1", "total": "\u0669\u0669"}},
            "data.total",
        ),
    ],
)
def test_erp_ids_and_numeric_strings_must_be_ascii(
    pipeline: Pipeline, changes: dict[str, Any], field: str
) -> None:
    response = post_erp("invoices", json.loads(erp_body(**changes)))
    assert response["statusCode"] == 400
    fields = [d["field"] for d in response_json(response)["error"]["details"]]
    assert field in fields
    assert nothing_queued(pipeline)


def test_an_erp_event_dated_year_9999_is_refused_so_it_cannot_poison_ordering(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    response = post_erp("invoices", json.loads(erp_body(occurred_at="9999-01-01T00:00:00Z")))

    assert response["statusCode"] == 400
    assert response_json(response)["error"]["details"] == [
        {"field": "occurred_at", "message": "must not be more than 300 s in the future"}
    ]
    assert (
        "ErpEventRejected",
        {"reason": "implausible_time", "service": "webhook-pipeline-tests"},
    ) in (emitted_metrics(capsys.readouterr().out))
    # Kept for operators as a REJECTED inbox record, never queued
    assert [e["status"] for e in tables.all_events()] == ["REJECTED"]
    assert nothing_queued(pipeline)


@pytest.mark.parametrize(
    ("shift", "message"),
    [
        (timedelta(minutes=6), "must not be more than 300 s in the future"),
        (-timedelta(days=3651), "must not be more than 3650 days in the past"),
    ],
)
def test_an_order_timestamp_outside_the_window_is_refused(
    pipeline: Pipeline, shift: timedelta, message: str
) -> None:
    body = order_body(timestamp=(datetime.now(UTC) + shift).isoformat())
    response = post_webhook(body, signed_headers(body, pipeline.signing_secret))
    assert response["statusCode"] == 400
    assert response_json(response)["error"]["details"] == [
        {"field": "timestamp", "message": message}
    ]
    assert tables.all_events() == []
    assert nothing_queued(pipeline)


def test_a_timestamp_a_few_minutes_ahead_is_a_clock_skew_and_accepted(pipeline: Pipeline) -> None:
    body = order_body(timestamp=(datetime.now(UTC) + timedelta(minutes=4)).isoformat())
    response = post_webhook(body, signed_headers(body, pipeline.signing_secret))
    assert response["statusCode"] == 202


@pytest.mark.parametrize("value", ["caf\u00e9", "\u00ff\u00fe", "x\x00y", "line\nbreak"])
def test_header_values_that_are_not_printable_ascii_are_refused(
    pipeline: Pipeline, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    body = order_body()
    headers = {**signed_headers(body, pipeline.signing_secret), "X-Request-ID": value}

    response = post_webhook(body, headers)

    assert response["statusCode"] == 400
    assert response_json(response)["error"]["code"] == "INVALID_HEADER"
    assert (
        "WebhookRejected",
        {"reason": "invalid_header", "service": "webhook-pipeline-tests"},
    ) in (emitted_metrics(capsys.readouterr().out))
    assert tables.all_events() == []
