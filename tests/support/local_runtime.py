"""The running local runtime as the e2e tests drive it, through what its runtime.json names: its
API over HTTP, its moto server, the partners' stand-ins, its function processes, the ops CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.send import http_request, post, signed_headers
from ops_cli.events import settled
from ops_cli.main import main as ops
from tests.support.waiting import wait_for

TERMINAL = frozenset({"PROCESSED", "DEAD_LETTERED"})
WAIT_SECONDS = 45

Runtime = dict[str, Any]  # runtime.json, with `state_file` added by the fixture


def deliver(
    runtime: Runtime, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    """POST an order webhook, signed with the runtime's secret unless `headers` are given."""
    sent = headers or signed_headers(body, runtime["signing_secrets"][0])
    status, text = post(runtime["api_url"] + "webhooks/qualia", body, sent)
    return status, json.loads(text)


def send(runtime: Runtime, route: str, document: dict[str, Any], key: str) -> Any:
    """POST an ERP webhook to /webhooks/zoho/{route} with `key`."""
    status, text = post(
        f"{runtime['api_url']}webhooks/zoho/{route}",
        json.dumps(document).encode(),
        {"Content-Type": "application/json", "X-Webhook-Key": key},
    )
    return status, json.loads(text)


def event(runtime: Runtime, event_id: str) -> dict[str, Any]:
    """The event as GET /events/{id} shows it; {} while it does not exist."""
    status, text = http_request("GET", f"{runtime['api_url']}events/{event_id}", None, {})
    assert status in (200, 404), text
    return dict(json.loads(text)["data"] or {})


def wait_until_terminal(
    runtime: Runtime,
    event_id: str,
    statuses: frozenset[str] = TERMINAL,
    wait_seconds: float = WAIT_SECONDS,
) -> dict[str, Any]:
    """The event once it is in `statuses` and settled (not on a final attempt still running)."""
    return wait_for(
        lambda: event(runtime, event_id),
        lambda found: found.get("status") in statuses and settled(found),
        what=f"event {event_id} to be settled in {sorted(statuses)}",
        timeout=wait_seconds,
    )


def deliveries_for(runtime: Runtime, event_id: str) -> list[dict[str, Any]]:
    """What the internal orders API stand-in received for the event (its Idempotency-Key)."""
    _, text = http_request("GET", runtime["internal_api_url"] + "/_received", None, {})
    return [d for d in json.loads(text) if d["idempotency_key"] == event_id]


def add_fault(runtime: Runtime, *, peer: str = "marketplace", **rule: Any) -> None:
    """A fault rule (status, timeout, count...) of a peer's stand-in: `marketplace` or
    `internal_api`."""
    status, text = post(
        runtime[f"{peer}_url"] + "/_faults",
        json.dumps(rule).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 201, text


def faults_consumed(base_url: str, seconds: float = 60) -> None:
    """Until every fault rule of the stand-in at `base_url` has been used up."""

    def rules() -> Any:
        _, text = http_request("GET", base_url + "/_faults", None, {})
        return json.loads(text)

    wait_for(
        rules,
        lambda left: left == [],
        what=f"every fault rule of {base_url} to be used",
        timeout=seconds,
        interval=0.05,
    )


def aws(runtime: Runtime, kind: str, service: str) -> Any:
    """A boto3 client or resource (`kind`) on the runtime's moto server."""
    return getattr(boto3, kind)(
        service,
        endpoint_url=runtime["moto_endpoint"],
        region_name=runtime["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def sqs(runtime: Runtime) -> Any:
    return aws(runtime, "client", "sqs")


def named(resources: dict[str, str], part: str) -> str:
    """The one resource of a runtime.json section (construct path → name or URL) whose
    construct path has `part` in it: `named(runtime["tables"], "EntitiesTable")`."""
    [found] = [value for path, value in resources.items() if f"/{part}/" in path]
    return found


def table(runtime: Runtime, part: str) -> Any:
    return aws(runtime, "resource", "dynamodb").Table(named(runtime["tables"], part))


def entities_table(runtime: Runtime) -> Any:
    return table(runtime, "EntitiesTable")


def payload_bucket(runtime: Runtime) -> str:
    return named(runtime["buckets"], "PayloadBucket")


def function_state(runtime: Runtime, part: str) -> dict[str, Any]:
    """The function's entry of runtime.json as it is now (pids change as processes restart)."""
    state = json.loads(Path(runtime["state_file"]).read_text())
    [function] = [f for f in state["functions"].values() if f"/{part}/" in f["path"]]
    return dict(function)


def queue_depth(runtime: Runtime, queue_url: str) -> int:
    """Messages visible and in flight."""
    attributes = sqs(runtime).get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def run(runtime: Runtime, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """The ops CLI against the runtime; (exit code, what it printed)."""
    code = ops(["--local", "--state-file", runtime["state_file"], *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err
