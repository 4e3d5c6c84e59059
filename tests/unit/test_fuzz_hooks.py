"""`make fuzz` authenticates each generated request the way its route checks it, over the exact
bytes sent, and reads what schemathesis reports."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
import requests
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from local.fuzz import _summary
from tests.support.signing import new_secret

SECRET = new_secret()


@pytest.fixture
def hooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    state = {"signing_secrets": [SECRET], "erp_webhook_keys": ["erp-key-1"], "region": "us-east-1"}
    (tmp_path / "runtime.json").write_text(json.dumps(state))
    monkeypatch.setenv("FUZZ_RUNTIME_STATE", str(tmp_path / "runtime.json"))
    import local.fuzz_hooks

    return importlib.reload(local.fuzz_hooks)


def prepared(hooks: ModuleType, path: str, body: bytes | None, url: str) -> Any:
    kwargs: dict[str, Any] = {}
    case = SimpleNamespace(operation=SimpleNamespace(path=path))
    hooks.before_call(None, case, kwargs)
    request = requests.Request("POST", url, data=body, auth=kwargs["auth"])
    return request.prepare()


def test_an_order_webhook_is_signed_over_the_bytes_sent(hooks: ModuleType) -> None:
    body = '{"order_id": "QO-123", "note": "caf\u00e9"}'.encode()
    sent = prepared(hooks, "/webhooks/qualia", body, "http://127.0.0.1:1/dev/webhooks/qualia")
    headers = {k: sent.headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    Webhook(SECRET).verify(sent.body, headers)  # raises unless it verifies
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(sent.body + b" ", headers)


def test_an_order_webhook_body_that_is_not_utf8_goes_unsigned(hooks: ModuleType) -> None:
    sent = prepared(
        hooks, "/webhooks/qualia", b"\xff\xfe", "http://127.0.0.1:1/dev/webhooks/qualia"
    )
    assert "webhook-signature" not in sent.headers


def test_the_erp_webhook_gets_the_key_and_iam_routes_a_sigv4_signature(hooks: ModuleType) -> None:
    erp = prepared(
        hooks, "/webhooks/zoho/{entity}", b"{}", "http://127.0.0.1:1/dev/webhooks/zoho/x"
    )
    assert erp.headers["X-Webhook-Key"] == "erp-key-1"
    assert "Authorization" not in erp.headers
    ops = prepared(hooks, "/events", None, "http://127.0.0.1:1/dev/events?limit=5")
    assert ops.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=local/")
    assert "/us-east-1/execute-api/aws4_request" in ops.headers["Authorization"]
    assert "X-Amz-Date" in ops.headers


def test_the_summary_counts_cases_answers_and_failed_checks(tmp_path: Path) -> None:
    def interaction(status: int) -> dict[str, Any]:
        return {"response": {"status_code": status}}

    events = [
        {"Initialize": {}},
        {
            "ScenarioFinished": {
                "recorder": {
                    "interactions": {"a": interaction(202), "b": interaction(400)},
                    "checks": {"a": [{"name": "not_a_server_error", "status": "SUCCESS"}]},
                }
            }
        },
        {
            "ScenarioFinished": {
                "recorder": {
                    "interactions": {"c": interaction(500)},
                    "checks": {"c": [{"name": "not_a_server_error", "status": "FAILURE"}]},
                }
            }
        },
    ]
    report = tmp_path / "events.ndjson"
    report.write_text("\n".join(json.dumps(e) for e in events))
    assert _summary(report) == {
        "cases": 3,
        "answers": {"2xx": 1, "4xx": 1, "5xx": 1},
        "failed_checks": {"not_a_server_error": 1},
    }
