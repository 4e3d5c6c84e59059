"""Sending a catalog's batches: `SendMessageBatch`, 10 entries a call, failed entries retried."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.observability import logger

ENTRIES_PER_CALL = 10  # the SQS maximum
SEND_ATTEMPTS = 3
BASE_PAUSE_SECONDS = 0.1


def send_batches(
    sqs: Any,
    queue_url: str,
    bodies: dict[str, str],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[list[str], int]:
    """Send every body (batch id → message body). Entries SQS refuses are sent again, up to
    SEND_ATTEMPTS times with a short backoff; returns (batch ids never sent, calls made)."""
    ids = list(bodies)
    unsent: list[str] = []
    calls = 0
    for start in range(0, len(ids), ENTRIES_PER_CALL):
        to_send = ids[start : start + ENTRIES_PER_CALL]
        for attempt in range(SEND_ATTEMPTS):
            if attempt:
                sleep(BASE_PAUSE_SECONDS * 2 ** (attempt - 1))
            calls += 1
            try:
                response = sqs.send_message_batch(
                    QueueUrl=queue_url,
                    Entries=[{"Id": bid, "MessageBody": bodies[bid]} for bid in to_send],
                )
            except (BotoCoreError, ClientError) as exc:
                logger.warning("SendMessageBatch failed", extra={"error": type(exc).__name__})
                continue
            failed = response.get("Failed", [])
            if failed:
                logger.warning(
                    "SendMessageBatch refused entries",
                    extra={"failed": [(f.get("Id"), f.get("Code")) for f in failed]},
                )
            to_send = [str(f["Id"]) for f in failed]
            if not to_send:
                break
        unsent.extend(to_send)
    return unsent, calls
