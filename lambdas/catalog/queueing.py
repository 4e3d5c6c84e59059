"""Sending a catalog's batches: `SendMessageBatch`, 10 entries a call, failed entries retried."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.observability import logger

ENTRIES_PER_CALL = 10  # the SQS maximum
SEND_ATTEMPTS = 3
BASE_PAUSE_SECONDS = 0.1
PARALLEL_CALLS = 8  # 10,000 products in batches of 5 is 200 calls: not one after another


def send_batches(
    sqs: Any,
    queue_url: str,
    bodies: dict[str, str],
    *,
    sleep: Callable[[float], None] = time.sleep,
    parallel: int = PARALLEL_CALLS,
) -> tuple[list[str], int]:
    """Send every body (batch id → message body), 10 a call, `parallel` calls at a time.
    Entries SQS refuses are sent again, up to SEND_ATTEMPTS times with a short backoff; returns
    (batch ids never sent, calls made)."""
    ids = list(bodies)
    groups = [
        ids[start : start + ENTRIES_PER_CALL] for start in range(0, len(ids), ENTRIES_PER_CALL)
    ]

    def send(group: list[str]) -> tuple[list[str], int]:
        return _send_group(sqs, queue_url, bodies, group, sleep)

    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(groups) or 1))) as pool:
        results = list(pool.map(send, groups))
    return [bid for unsent, _ in results for bid in unsent], sum(calls for _, calls in results)


def _send_group(
    sqs: Any,
    queue_url: str,
    bodies: dict[str, str],
    group: list[str],
    sleep: Callable[[float], None],
) -> tuple[list[str], int]:
    """One SendMessageBatch call and its retries: (ids never sent, calls made)."""
    to_send = group
    for attempt in range(SEND_ATTEMPTS):
        if attempt:
            sleep(BASE_PAUSE_SECONDS * 2 ** (attempt - 1))
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
            return [], attempt + 1
    return to_send, SEND_ATTEMPTS
