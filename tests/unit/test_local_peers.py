"""The local stand-ins' fault rules, and the sign-and-send tool against a local receiver."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from local.http_stub import RecordedRequest, StubResponse
from local.peers import FaultRule, InternalOrdersApi, MarketplaceApi, marketplace_order
from local.send import http_request, send_file
from shared.signatures import verify_signature


def test_a_counted_fault_applies_that_many_times_then_stops() -> None:
    with MarketplaceApi(token="t") as marketplace:
        marketplace.add_fault(
            FaultRule(path="/orders/QO-1.*", status=503, count=2, retry_after="1")
        )
        auth = {"Authorization": "Bearer t"}
        answers = [
            http_request("GET", f"{marketplace.url}/orders/QO-123456", None, auth)[0]
            for _ in range(3)
        ]
        assert answers == [503, 503, 200]
        assert http_request("GET", f"{marketplace.url}/_faults", None, {}) == (200, "[]")


def test_faults_are_managed_over_http_and_match_method_and_path() -> None:
    with MarketplaceApi(token="t") as marketplace:
        rule = json.dumps({"path": "/orders/QO-9.*", "method": "GET", "status": 500}).encode()
        assert http_request("POST", f"{marketplace.url}/_faults", rule, {})[0] == 201
        auth = {"Authorization": "Bearer t"}
        assert http_request("GET", f"{marketplace.url}/orders/QO-900000", None, auth)[0] == 500
        assert http_request("GET", f"{marketplace.url}/orders/QO-100000", None, auth)[0] == 200
        assert http_request("DELETE", f"{marketplace.url}/_faults", None, {})[0] == 204
        assert http_request("GET", f"{marketplace.url}/orders/QO-900000", None, auth)[0] == 200


@pytest.mark.parametrize(
    "rule",
    [
        {"path": "/x"},
        {"path": "/x", "status": 503, "timeout_seconds": 1},
        {"path": "(", "status": 500},
    ],
)
def test_a_fault_rule_needs_one_of_status_or_timeout_and_a_valid_pattern(
    rule: dict[str, object],
) -> None:
    with pytest.raises(ValidationError):
        FaultRule.model_validate(rule)


def test_the_marketplace_serves_the_same_order_for_the_same_id_and_needs_the_token() -> None:
    assert marketplace_order("QO-123456") == marketplace_order("QO-123456")
    assert marketplace_order("QO-123456") != marketplace_order("QO-123457")
    with MarketplaceApi(token="t") as marketplace:
        assert http_request("GET", f"{marketplace.url}/orders/QO-123456", None, {})[0] == 401


def test_the_internal_api_answers_the_same_id_for_a_repeated_idempotency_key() -> None:
    with InternalOrdersApi() as internal:
        headers = {"Idempotency-Key": "evt-1", "Content-Type": "application/json"}
        first = http_request("POST", f"{internal.url}/orders", b"{}", headers)
        again = http_request("POST", f"{internal.url}/orders", b"{}", headers)
        assert (first[0], again[0]) == (201, 200)
        assert json.loads(first[1]) == json.loads(again[1])
        received = json.loads(http_request("GET", f"{internal.url}/_received", None, {})[1])
        assert [(r["idempotency_key"], r["replay"]) for r in received] == [
            ("evt-1", False),
            ("evt-1", True),
        ]


def test_send_signs_the_file_so_the_receiver_can_verify_it(tmp_path: Path) -> None:
    from local.http_stub import StubServer

    secret = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwMTI="
    document = tmp_path / "order.json"
    document.write_text('{"order_id": "QO-123456"}')
    with StubServer() as receiver:
        receiver.route("POST", "/webhooks/qualia", lambda _: StubResponse(202, {"ok": True}))
        delivery = send_file(
            document,
            url=f"{receiver.url}/webhooks/qualia",
            secret=secret,
            state_file=tmp_path / "none.json",
            webhook_id="msg_fixed",
        )
        request: RecordedRequest = receiver.requests[0]
    assert delivery.status == 202
    headers = {name.lower(): value for name, value in request.headers.items()}
    assert headers["webhook-id"] == "msg_fixed"
    verify_signature(request.body, request.headers, [secret])
