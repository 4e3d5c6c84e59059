"""The order pipeline's ping: the document a ping stores instead of an order, and its outcome."""

from __future__ import annotations

import json

PING_OUTCOME = "ping"


def ping_document(event_id: str) -> bytes:
    return json.dumps({"ping": True, "event_id": event_id}, separators=(",", ":")).encode()


def is_ping_document(raw: bytes, event_id: str) -> bool:
    try:
        document = json.loads(raw)
    except ValueError:
        return False
    return isinstance(document, dict) and document == {"ping": True, "event_id": event_id}
