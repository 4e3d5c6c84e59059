"""`ops smoke` against a scripted API: what it sends, and how it names where a ping stopped."""

from __future__ import annotations

import json
from typing import Any

from ops_cli.smoke import Smoke, render
from ops_cli.target import ApiAnswer, SmokeCredentials, Target
from shared.signatures import verify_signature
from tests.support.signing import new_secret

SECRET = new_secret()
ERP_KEY = "erp-key-for-tests"


class ScriptedApi(Target):
    """Accepts every ping, then answers GET /events/{id} with the scripted event for it."""

    def __init__(self, events: dict[str, dict[str, Any]], catalog: dict[str, Any]) -> None:
        self.api_url = "https://api.test/prod/"
        self.label = "scripted"
        self.sent: list[tuple[str, str, dict[str, str], bytes | None, bool]] = []
        self._events = events
        self._catalog = catalog
        self._next = iter(events)

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        signed: bool = True,
    ) -> ApiAnswer:
        self.sent.append((method, path, headers or {}, body, signed))
        if path == "health":
            return ApiAnswer(200, {"data": {"status": "healthy", "checks": {}}})
        if method == "POST" and path.startswith("webhooks/"):
            return ApiAnswer(202, {"data": {"event_id": next(self._next)}})
        if method == "POST" and path.startswith("catalogs/"):
            return ApiAnswer(202, {"data": {"tracking_id": "t-1"}})
        if path.startswith("events/"):
            return ApiAnswer(200, {"data": self._events[path.removeprefix("events/")]})
        return ApiAnswer(200, {"data": self._catalog})


def ping(status: str = "PROCESSED", **fields: Any) -> dict[str, Any]:
    return {"status": status, "outcome": "ping", "status_history": [{"status": status}], **fields}


def run(api: ScriptedApi) -> Any:
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    smoke = Smoke(
        api,
        SmokeCredentials(signing_secret=SECRET, erp_key=ERP_KEY),
        timeout_seconds=5,
        clock=lambda: clock[0],
        sleep=sleep,
    )
    return smoke.run()


DONE = {"status": "COMPLETED", "products": {"enriched": 1}, "batches": {}}


def test_every_ping_processed_passes_and_each_is_signed_as_its_route_expects() -> None:
    api = ScriptedApi({f"e{n}": ping() for n in range(4)}, DONE)

    report = run(api)

    assert report.ok
    assert [c.name for c in report.checks] == [
        "health", "orders ping", "ERP ping (high lane)", "ERP ping (standard lane)",
        "ERP ping (low lane)", "catalog ping",
    ]  # fmt: skip
    posts = [s for s in api.sent if s[0] == "POST"]
    [(_, _, headers, body, signed)] = [p for p in posts if p[1] == "webhooks/qualia"]
    assert signed is False  # authenticated by its own signature, not IAM
    assert body is not None
    assert verify_signature(body, headers, [SECRET]).message_id == headers["webhook-id"]
    assert json.loads(body)["event_type"] == "ping"
    erp = [p for p in posts if p[1].startswith("webhooks/zoho/")]
    assert [p[1] for p in erp] == [
        "webhooks/zoho/invoices", "webhooks/zoho/products", "webhooks/zoho/stock"
    ]  # fmt: skip
    assert {p[2]["X-Webhook-Key"] for p in erp} == {ERP_KEY}
    [catalog] = [p for p in posts if p[1].startswith("catalogs/")]
    assert catalog[4] is True  # the catalog API is IAM: SigV4
    assert json.loads(catalog[3] or b"{}")["provider"] == "ping"


def test_a_ping_that_stops_is_reported_with_the_stage_it_stopped_at() -> None:
    events: dict[str, dict[str, Any]] = {
        "e0": {"status": "DOWNLOADED", "pipeline": "marketplace_orders", "status_history": []},
        "e1": {
            "status": "DEAD_LETTERED",
            "pipeline": "erp_entity_sync",
            "dead_letter": {"stage": "sync", "reason": "ValidationException"},
        },
        "e2": {
            "status": "RETRYING",
            "pipeline": "erp_entity_sync",
            "status_history": [{"status": "RETRYING", "stage": "sync"}],
            "attempts": 2,
            "last_error": "ProvisionedThroughputExceededException",
            "next_retry_at": "2026-12-01T10:00:05.000Z",
        },
        "e3": ping(),
    }
    api = ScriptedApi(events, {"status": "RUNNING", "products": {}, "batches": {"pending": 1}})

    report = run(api)
    text = render(api, report)

    assert not report.ok
    details = {c.name: c.detail for c in report.checks}
    assert details["orders ping"] == (
        "stopped after 5s: DOWNLOADED: the processing stage has not finished it"
    )
    assert details["ERP ping (high lane)"] == (
        "stopped: DEAD_LETTERED at the sync stage: ValidationException"
    )
    assert details["ERP ping (standard lane)"].startswith(
        "stopped after 5s: RETRYING at the sync stage after 2 attempt(s): "
        "ProvisionedThroughputExceededException"
    )
    assert details["ERP ping (low lane)"].startswith("PROCESSED")
    assert details["catalog ping"].startswith("stopped at the enrich stage: RUNNING")
    assert text.splitlines()[-1] == "2/6 passed"  # health and the low lane
    assert "FAIL orders ping" in text


def test_an_unhealthy_env_fails_the_smoke_test_even_if_the_pings_pass() -> None:
    class Degraded(ScriptedApi):
        def request(self, method: str, path: str, *args: Any, **kwargs: Any) -> ApiAnswer:
            if path == "health":
                checks = {"queue:download": {"ok": False}, "events_table": {"ok": True}}
                return ApiAnswer(200, {"data": {"status": "degraded", "checks": checks}})
            return super().request(method, path, *args, **kwargs)

    report = run(Degraded({f"e{n}": ping() for n in range(4)}, DONE))

    assert not report.ok
    assert report.checks[0].detail == "HTTP 200 degraded: ['queue:download']"
