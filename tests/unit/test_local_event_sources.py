"""SQS pollers run up to their concurrency of batch invokes at once, and still settle every
record as Lambda does: successes deleted, reported failures left to their visibility, the
records of a crashed invoke back after the retry delay; a paused mapping receives nothing."""

from __future__ import annotations

import threading
import time
from typing import Any

import boto3
import pytest

from local.event_sources import EventSourceMapping, MappingStates, QueuePoller, mappings_from
from local.functions import InvocationError
from local.peers import LambdaMappingsApi
from local.template import StackTemplate

RETRY_DELAY = 7


class FakeSqs:
    def __init__(self, bodies: list[str]) -> None:
        self._lock = threading.Lock()
        self.waiting = [
            {"MessageId": f"m{n}", "ReceiptHandle": f"r{n}", "Body": body, "Attributes": {}}
            for n, body in enumerate(bodies)
        ]
        self.deleted: list[str] = []
        self.visibility: dict[str, int] = {}

    def receive_message(self, **request: Any) -> dict[str, Any]:
        with self._lock:
            taken = self.waiting[: request["MaxNumberOfMessages"]]
            del self.waiting[: len(taken)]
        if not taken and request["WaitTimeSeconds"]:
            time.sleep(0.02)
        return {"Messages": taken}

    def delete_message_batch(self, **request: Any) -> None:
        with self._lock:
            self.deleted.extend(entry["ReceiptHandle"] for entry in request["Entries"])

    def change_message_visibility(self, **request: Any) -> None:
        with self._lock:
            self.visibility[request["ReceiptHandle"]] = request["VisibilityTimeout"]


class FakeWorker:
    """The first `meet` invokes wait for each other (they must run at once); a record whose
    body is `fail` is reported failed, `crash` crashes the invoke."""

    def __init__(self, meet: int) -> None:
        self._meeting = threading.Barrier(meet, timeout=20)
        self._lock = threading.Lock()
        self._meet = meet
        self.invokes = 0
        self.in_flight = 0
        self.most_in_flight = 0

    def invoke(self, event: dict[str, Any]) -> Any:
        with self._lock:
            self.invokes += 1
            meets = self.invokes <= self._meet
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if meets:
                self._meeting.wait()
            else:
                time.sleep(0.05)
            bodies = {r["messageId"]: r["body"] for r in event["Records"]}
            if "crash" in bodies.values():
                raise InvocationError("crash", "process exited (-9)")
            failed = [i for i, body in bodies.items() if body == "fail"]
            return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}
        finally:
            with self._lock:
                self.in_flight -= 1


def poll(bodies: list[str], *, concurrency: int, meet: int) -> tuple[FakeSqs, FakeWorker, int]:
    sqs, worker = FakeSqs(bodies), FakeWorker(meet)
    mapping = EventSourceMapping(
        function_logical_id="Worker",
        queue_logical_id="Queue",
        queue_url="http://sqs/queue",
        queue_arn="arn:aws:sqs:us-east-1:123456789012:queue",
        batch_size=1,
        batching_window_seconds=0,
        report_batch_item_failures=True,
        maximum_concurrency=concurrency,
    )
    poller = QueuePoller(
        mapping,
        worker,
        sqs,
        region="us-east-1",
        retry_delay_seconds=RETRY_DELAY,
        concurrency=concurrency,
    )
    poller.start()
    try:
        deadline = time.monotonic() + 30
        while poller.batches < len(bodies):
            assert time.monotonic() < deadline, "the poller did not invoke every record"
            time.sleep(0.02)
    finally:
        poller.stop()  # waits for the batches in flight
    return sqs, worker, poller.max_in_flight


def test_a_poller_runs_up_to_its_concurrency_of_batches_at_once() -> None:
    sqs, worker, most = poll(["ok", "fail", "ok", "crash", "ok", "ok"], concurrency=3, meet=3)

    assert worker.most_in_flight == most == 3  # the first three met, so they ran at once
    assert sorted(sqs.deleted) == ["r0", "r2", "r4", "r5"]
    assert sqs.visibility == {"r3": RETRY_DELAY}  # the crashed invoke's record
    assert "r1" not in sqs.deleted  # reported failed: keeps the visibility the worker gave it


def test_a_poller_never_runs_more_batches_than_its_concurrency() -> None:
    _, worker, most = poll(["ok"] * 8, concurrency=2, meet=2)
    assert worker.most_in_flight == most == 2


@pytest.mark.parametrize(("scaling", "expected"), [({"MaximumConcurrency": 5}, 5), (None, None)])
def test_a_mapping_s_maximum_concurrency_comes_from_its_scaling_config(
    scaling: dict[str, int] | None, expected: int | None
) -> None:
    properties: dict[str, Any] = {
        "FunctionName": {"Ref": "Worker"},
        "EventSourceArn": {"Fn::GetAtt": ["Queue", "Arn"]},
        "BatchSize": 10,
    }
    if scaling:
        properties["ScalingConfig"] = scaling
    template = StackTemplate(
        {
            "Resources": {
                "Esm": {"Type": "AWS::Lambda::EventSourceMapping", "Properties": properties}
            }
        },
        stack_name="stack",
        region="us-east-1",
    )
    template.register("Queue", "http://sqs/queue", Arn="arn:aws:sqs:us-east-1:1:queue")

    [mapping] = mappings_from(template)

    assert mapping.maximum_concurrency == expected


def test_a_paused_mapping_receives_nothing_until_it_is_resumed_through_lambdas_api() -> None:
    # Given a poller whose mapping is paused, as a circuit breaker pauses it
    sqs, worker = FakeSqs(["ok", "ok"]), FakeWorker(meet=1)
    mapping = EventSourceMapping(
        function_logical_id="Worker",
        queue_logical_id="Queue",
        queue_url="http://sqs/queue",
        queue_arn="arn:aws:sqs:us-east-1:123456789012:queue",
        batch_size=10,
        batching_window_seconds=0,
        report_batch_item_failures=True,
        uuid="6f1c9a2e-0000-4000-8000-000000000001",
    )
    states = MappingStates([mapping])
    arn = "arn:aws:lambda:us-east-1:123456789012:function:worker"
    with LambdaMappingsApi(states, {mapping.uuid: arn}) as api:
        client = boto3.client(
            "lambda",
            endpoint_url=api.url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        [found] = client.list_event_source_mappings(
            FunctionName="worker", EventSourceArn=mapping.queue_arn
        )["EventSourceMappings"]
        client.update_event_source_mapping(UUID=found["UUID"], Enabled=False)
        poller = QueuePoller(
            mapping, worker, sqs, region="us-east-1", retry_delay_seconds=1, states=states
        )
        poller.start()
        try:
            time.sleep(0.5)
            # Then nothing is received while it is paused
            assert (poller.batches, len(sqs.waiting)) == (0, 2)
            assert client.get_event_source_mapping(UUID=mapping.uuid)["State"] == "Disabled"
            # When it is resumed, Then the messages are delivered
            client.update_event_source_mapping(UUID=mapping.uuid, Enabled=True)
            deadline = time.monotonic() + 10
            while sorted(sqs.deleted) != ["r0", "r1"]:
                assert time.monotonic() < deadline, "the resumed poller delivered nothing"
                time.sleep(0.02)
        finally:
            poller.stop()
