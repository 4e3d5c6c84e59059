"""Sign a JSON file with Standard Webhooks and POST it: to the local runtime or a deployed API."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from standardwebhooks.webhooks import Webhook

WEBHOOK_PATH = "webhooks/qualia"


@dataclass(frozen=True)
class Delivery:
    status: int
    body: str
    webhook_id: str


def signed_headers(body: bytes, secret: str, webhook_id: str | None = None) -> dict[str, str]:
    msg_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    now = datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id=msg_id, timestamp=now, data=body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
        "Content-Type": "application/json",
    }


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 30) -> tuple[int, str]:
    return http_request("POST", url, body, headers, timeout)


def http_request(
    method: str, url: str, body: bytes | None, headers: dict[str, str], timeout: float = 30
) -> tuple[int, str]:
    """(status, body text), whatever the status."""
    request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()


def send_file(
    path: Path, *, url: str | None, secret: str | None, state_file: Path, webhook_id: str | None
) -> Delivery:
    """`url` and `secret` default to the running local runtime's (its runtime.json), and the
    secret to $WEBHOOK_SECRET before that."""
    body = path.read_bytes()
    json.loads(body)  # refuse to sign what is not JSON: the receiver would answer 400 anyway
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    target = url or (state.get("api_url", "") + WEBHOOK_PATH if state else "")
    key = secret or os.environ.get("WEBHOOK_SECRET") or (state.get("signing_secrets") or [None])[0]
    if not target or not key:
        raise SystemExit(
            "no endpoint or secret: start `make local`, or pass --url and --secret "
            "(or set WEBHOOK_SECRET)"
        )
    headers = signed_headers(body, key, webhook_id)
    status, text = post(target, body, headers)
    return Delivery(status, text, headers["webhook-id"])
