"""`ops smoke`: is a deployed (or local) env working end to end, without touching a partner?

`GET /health`, then a signed synthetic ping on each pipeline's route: an order ping on
`/webhooks/qualia` (Standard Webhooks signature), an ERP ping per priority lane on
`/webhooks/zoho/{entity}` (X-Webhook-Key) and a one-product ping enrichment on the catalog API
(SigV4). Every stage passes a ping on without calling the marketplace, the internal API, the
entity store or the provider; each must end `PROCESSED` with outcome `ping` (the enrichment
`COMPLETED`). When one does not, the report names the stage where it stopped.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from standardwebhooks.webhooks import Webhook

from ops_cli.events import settled, where_it_stopped
from ops_cli.target import ApiAnswer, SmokeCredentials, Target

PING = "ping"
ORDER_ID = "QO-000000"  # an order id the marketplace never issues; a ping fetches no order
# One entity per priority lane, so that every lane's queue and event source is exercised.
ERP_LANES = {"high": ("invoices", "invoice"), "standard": ("products", "product"),
             "low": ("stock", "stock")}  # fmt: skip
SMOKE_ID = "ops-smoke"  # the catalog, user and ERP entity the pings use
UNFINISHED = frozenset({"QUEUEING", "RUNNING"})


@dataclass
class Check:
    name: str
    ok: bool = False
    reference: str = "-"  # the event or tracking id
    detail: str = ""
    seconds: float = 0.0


@dataclass
class SmokeReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)


Clock = Callable[[], float]


class Smoke:
    def __init__(
        self,
        target: Target,
        credentials: SmokeCredentials,
        *,
        timeout_seconds: float = 90,
        poll_seconds: float = 1.0,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._target = target
        self._credentials = credentials
        self._timeout = timeout_seconds
        self._poll = poll_seconds
        self._clock = clock
        self._sleep = sleep

    def run(self) -> SmokeReport:
        report = SmokeReport([self._health()])
        started = self._clock()
        # Sent together, then followed together: the pings travel the pipelines in parallel.
        pending = [self._order_ping(), *(self._erp_ping(lane) for lane in ERP_LANES)]
        catalog = self._catalog_ping()
        for check in pending:
            if check.ok:  # accepted: follow the event to its end
                self._follow(check, started)
        self._follow_enrichment(catalog, started)
        report.checks += [*pending, catalog]
        return report

    # -- health ---------------------------------------------------------------------------------

    def _health(self) -> Check:
        check = Check("health")
        answer = self._target.request("GET", "health")
        data = answer.body.get("data") or {}
        failing = [name for name, c in (data.get("checks") or {}).items() if not c.get("ok")]
        check.ok = answer.ok and data.get("status") == "healthy"
        check.detail = (
            "healthy" if check.ok else f"HTTP {answer.status} {data.get('status')}: {failing}"
        )
        return check

    # -- the pings ------------------------------------------------------------------------------

    def _order_ping(self) -> Check:
        body = json.dumps(
            {"order_id": ORDER_ID, "event_type": PING, "timestamp": _now().isoformat()}
        ).encode()
        message_id = f"ping_{uuid.uuid4().hex}"
        signed_at = datetime.now(UTC)
        signature = Webhook(self._credentials.signing_secret).sign(
            msg_id=message_id, timestamp=signed_at, data=body.decode()
        )
        headers = {
            "Content-Type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": str(int(signed_at.timestamp())),
            "webhook-signature": signature,
            "X-Request-ID": f"ops-smoke-{message_id}",
        }
        answer = self._target.request(
            "POST", "webhooks/qualia", body=body, headers=headers, signed=False
        )
        return self._accepted(Check("orders ping"), answer)

    def _erp_ping(self, lane: str) -> Check:
        route, entity = ERP_LANES[lane]
        body = json.dumps(
            {
                "event_type": PING,
                "entity_type": entity,
                "entity_id": SMOKE_ID,
                "data": {},
                "occurred_at": _now().isoformat(),  # a new event every run, never a duplicate
            }
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Webhook-Key": self._credentials.erp_key,
            "X-Request-ID": f"ops-smoke-erp-{uuid.uuid4().hex}",
        }
        answer = self._target.request(
            "POST", f"webhooks/zoho/{route}", body=body, headers=headers, signed=False
        )
        return self._accepted(Check(f"ERP ping ({lane} lane)"), answer)

    def _catalog_ping(self) -> Check:
        check = Check("catalog ping")
        body = json.dumps(
            {
                "user_id": SMOKE_ID,
                "provider": PING,
                "products": [{"product_id": PING, "asin": "PING000000"}],
            }
        ).encode()
        path = f"catalogs/{SMOKE_ID}/enrichments"
        started = self._clock()
        while True:
            answer = self._target.request(
                "POST", path, body=body, headers={"Content-Type": "application/json"}
            )
            # An earlier smoke's enrichment still running holds the catalog: wait for it.
            if answer.status != 409 or self._clock() - started > self._timeout:
                break
            self._sleep(self._poll)
        return self._accepted(check, answer, "tracking_id")

    def _accepted(self, check: Check, answer: ApiAnswer, reference: str = "event_id") -> Check:
        """Accepted (202): the check goes on with the id the API answered with."""
        if answer.status != 202:
            check.detail = f"not accepted: HTTP {answer.status}: {_error(answer)}"
            return check
        check.ok = True
        check.reference = str((answer.body.get("data") or {}).get(reference))
        return check

    # -- following them ---------------------------------------------------------------------------

    def _follow(self, check: Check, started: float) -> None:
        while True:  # read at least once: an earlier ping may have used up the wait
            answer = self._target.request("GET", f"events/{check.reference}")
            event = dict(answer.body.get("data") or {}) if answer.ok else {}
            if (event and settled(event)) or self._clock() - started > self._timeout:
                break
            self._sleep(self._poll)
        check.seconds = round(self._clock() - started, 1)
        if event.get("status") == "PROCESSED" and event.get("outcome") == PING:
            check.detail = f"PROCESSED ({' > '.join(_statuses(event))})"
            return
        check.ok = False
        waited = "" if event and settled(event) else f" after {self._timeout:.0f}s"
        check.detail = f"stopped{waited}: {where_it_stopped(event)}"

    def _follow_enrichment(self, check: Check, started: float) -> None:
        if not check.ok:
            return
        path = f"catalogs/{SMOKE_ID}/enrichments"
        while True:
            answer = self._target.request("GET", path, {"tracking_id": check.reference})
            view = dict(answer.body.get("data") or {}) if answer.ok else {}
            finished = bool(view.get("status")) and view["status"] not in UNFINISHED
            if finished or self._clock() - started > self._timeout:
                break
            self._sleep(self._poll)
        check.seconds = round(self._clock() - started, 1)
        products = view.get("products") or {}
        if view.get("status") == "COMPLETED" and products.get("enriched") == 1:
            check.detail = "COMPLETED (1 product enriched by the ping provider)"
            return
        check.ok = False
        batches = view.get("batches") or {}
        check.detail = (
            f"stopped at the enrich stage: {view.get('status', 'no progress')}"
            f" (batches {batches}, products {products})"
        )


def _now() -> datetime:
    return datetime.now(UTC)


def _statuses(event: dict[str, Any]) -> list[str]:
    return [str(entry["status"]) for entry in event.get("status_history", [])]


def _error(answer: ApiAnswer) -> str:
    error = answer.body.get("error") or {}
    return f"{error.get('code')}: {error.get('message')}"


def render(target: Target, report: SmokeReport) -> str:
    width = max(len(check.name) for check in report.checks)
    lines = [f"smoke test of {target.label}:"]
    for check in report.checks:
        mark = "ok  " if check.ok else "FAIL"
        took = f"{check.seconds:5.1f}s" if check.seconds else "      "
        lines.append(
            f"  {mark} {check.name:<{width}}  {check.reference[:36]:<36}  {took}  {check.detail}"
        )
    passed = sum(check.ok for check in report.checks)
    lines.append(f"{passed}/{len(report.checks)} passed")
    return "\n".join(lines)


def as_json(report: SmokeReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "checks": [
            {
                "name": c.name,
                "ok": c.ok,
                "reference": c.reference,
                "seconds": c.seconds,
                "detail": c.detail,
            }
            for c in report.checks
        ],
    }
