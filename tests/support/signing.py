"""Standard Webhooks signing, as a sender does it."""

from __future__ import annotations

import base64
import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from standardwebhooks.webhooks import Webhook
from svix.webhooks import Webhook as SvixWebhook


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def signed_headers(
    body: bytes,
    secret: str,
    *,
    webhook_id: str | None = None,
    at: datetime | None = None,
    extra_secrets: tuple[str, ...] = (),
) -> dict[str, str]:
    msg_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    timestamp = at or datetime.now(UTC)
    signatures = [
        Webhook(s).sign(msg_id=msg_id, timestamp=timestamp, data=body.decode())
        for s in (secret, *extra_secrets)
    ]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
        "Content-Type": "application/json",
    }


def svix_signed_headers(
    body: bytes, secret: str, *, msg_id: str | None = None, at: datetime | None = None
) -> dict[str, str]:
    """Headers as a Svix sender sends them: signed by the `svix` library, `svix-*` names."""
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    timestamp = at or datetime.now(UTC)
    return {
        "svix-id": msg_id,
        "svix-timestamp": str(int(timestamp.timestamp())),
        "svix-signature": SvixWebhook(secret).sign(msg_id, timestamp, body.decode()),
        "Content-Type": "application/json",
    }


def order_webhook_body(
    order_id: str = "QO-123456", event_type: str = "order.ready_for_download", **extra: Any
) -> bytes:
    document = {
        "order_id": order_id,
        "event_type": event_type,
        "timestamp": (datetime.now(UTC) - timedelta(seconds=5)).isoformat(),
        **extra,
    }
    return json.dumps(document).encode()
