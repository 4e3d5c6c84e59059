"""SQS event source mappings, polled as Lambda polls them.

Batch size and batching window come from the mapping, receives use long polling, and up to
the mapping's `ScalingConfig.MaximumConcurrency` batches are invoked at once (capped by the
function's pool), as Lambda's pollers scale out: one receiver per mapping collects a batch
whenever an invoke slot is free and hands it to its own thread. With
`ReportBatchItemFailures` the records the function did not report are deleted; the ones it
reported keep the visibility the function gave them (the workers' backoff), as on AWS. After an
invoke that failed as a whole (a crash, a timeout) its records reappear after `retry_delay`
seconds: on AWS they wait out the queue's visibility timeout (6 minutes for the dev workers),
which would make a local demo of a crash take minutes. Dead-lettering stays moto's redrive
policy's job.

`receive_batch` and `deliver_batch` are that one poll and that one settled invoke; the tests
call them synchronously with a handler in their own process (tests/support/pump.py), so the
runtime and the tests drive SQS → Lambda the same way.

A mapping can be paused and resumed (the circuit breaker does, with UpdateEventSourceMapping
Enabled=false/true): `MappingStates` holds each one's state, and `local.lambda_control` answers
Lambda's event source mapping API from it; a paused mapping's poller receives nothing, while
the batches it already handed to the function finish, as on AWS.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from local.background import BackgroundLoop
from local.functions import InvocationError
from local.lambda_events import sqs_event

log = logging.getLogger("local.event_sources")


@dataclass(frozen=True)
class EventSourceMapping:
    function_logical_id: str
    queue_logical_id: str
    queue_url: str
    queue_arn: str
    batch_size: int
    batching_window_seconds: int
    report_batch_item_failures: bool
    maximum_concurrency: int | None = None  # ScalingConfig; None: as many as Lambda likes
    enabled: bool = True  # as the template creates it
    logical_id: str = ""
    uuid: str = ""  # what `Ref` of the mapping resolves to, as on AWS


class MappingStates:
    """Whether each mapping (by UUID) is enabled; shared by its poller and the Lambda API
    stand-in, from any thread."""

    def __init__(self, mappings: list[EventSourceMapping]) -> None:
        self._lock = threading.Lock()
        self.mappings = {m.uuid: m for m in mappings}
        self._enabled = {m.uuid: m.enabled for m in mappings}

    def enabled(self, uuid: str) -> bool:
        with self._lock:
            return self._enabled[uuid]

    def set_enabled(self, uuid: str, enabled: bool) -> None:
        with self._lock:
            if uuid not in self._enabled:
                raise KeyError(uuid)
            self._enabled[uuid] = enabled
        log.warning("event source mapping %s %s", uuid, "enabled" if enabled else "disabled")


class Invocable(Protocol):
    """A function to invoke: raises `InvocationError` when the invoke failed as a whole."""

    def invoke(self, event: dict[str, Any]) -> Any: ...


@dataclass(frozen=True)
class Delivery:
    """One batch invoke and how its records were settled."""

    records: int
    failed: frozenset[str]  # message ids left on the queue
    response: Any = None  # what the function returned; None when the invoke failed
    error: str | None = None  # why the invoke failed as a whole


def receive_batch(
    sqs: Any, queue_url: str, max_messages: int, *, wait_seconds: int = 0
) -> list[dict[str, Any]]:
    """One ReceiveMessage as Lambda's poller makes it: every attribute, at most 10 messages."""
    received = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=min(10, max_messages),
        WaitTimeSeconds=wait_seconds,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    ).get("Messages", [])
    return [dict(message) for message in received]


def deliver_batch(
    sqs: Any,
    mapping: EventSourceMapping,
    messages: list[dict[str, Any]],
    function: Invocable,
    *,
    region: str,
    crash_visibility_seconds: int,
    failure_visibility_seconds: int | None = None,
) -> Delivery:
    """Invoke `function` with `messages` as one SQS event and settle them as Lambda does.

    What succeeded is deleted (with `ReportBatchItemFailures`, every record the function did not
    report; an identifier it did not receive fails the whole batch). Reported failures keep the
    visibility the function gave them (its backoff), unless `failure_visibility_seconds` sets
    one (the tests: 0, as if the backoff had passed). The records of an invoke that failed as a
    whole reappear after `crash_visibility_seconds`."""
    event = sqs_event(messages, mapping.queue_arn, region)
    ids = {m["MessageId"] for m in messages}
    response: Any = None
    error: str | None = None
    try:
        response = function.invoke(event)
        failed = _reported_failures(mapping, response, ids)
    except InvocationError as exc:
        log.warning("%s: invoke failed (%s)", mapping.function_logical_id, exc)
        failed, error = ids, str(exc)
    done = [m for m in messages if m["MessageId"] not in failed]
    for start in range(0, len(done), 10):
        sqs.delete_message_batch(
            QueueUrl=mapping.queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(done[start : start + 10])
            ],
        )
    visibility = crash_visibility_seconds if error is not None else failure_visibility_seconds
    for message in messages if visibility is not None else []:
        if message["MessageId"] in failed:
            sqs.change_message_visibility(
                QueueUrl=mapping.queue_url,
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=visibility,
            )
    return Delivery(len(messages), frozenset(failed), response, error)


def _reported_failures(mapping: EventSourceMapping, response: Any, ids: set[str]) -> set[str]:
    if not mapping.report_batch_item_failures or not isinstance(response, dict):
        return set()
    failed = {f["itemIdentifier"] for f in response.get("batchItemFailures") or []}
    return failed if failed <= ids else ids  # Lambda treats an unknown identifier as a failure


def mappings_from(template: Any) -> list[EventSourceMapping]:
    mappings = []
    for logical_id, resource in template.resources("AWS::Lambda::EventSourceMapping").items():
        properties = resource["Properties"]
        function_id = properties["FunctionName"]["Ref"]
        queue_id = properties["EventSourceArn"]["Fn::GetAtt"][0]
        queue = template.physical[queue_id]
        maximum = (properties.get("ScalingConfig") or {}).get("MaximumConcurrency")
        mappings.append(
            EventSourceMapping(
                logical_id=logical_id,
                uuid=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{template.stack_name}/{logical_id}")),
                function_logical_id=function_id,
                queue_logical_id=queue_id,
                queue_url=queue.ref,
                queue_arn=queue.attributes["Arn"],
                batch_size=int(properties.get("BatchSize", 10)),
                batching_window_seconds=int(properties.get("MaximumBatchingWindowInSeconds", 0)),
                report_batch_item_failures="ReportBatchItemFailures"
                in properties.get("FunctionResponseTypes", []),
                maximum_concurrency=int(maximum) if maximum else None,
                enabled=properties.get("Enabled") is not False,
            )
        )
    return mappings


class QueuePoller(BackgroundLoop):
    """One mapping: a receiver collecting batches, and up to `concurrency` batch invokes."""

    def __init__(
        self,
        mapping: EventSourceMapping,
        function: Invocable,
        sqs: Any,
        *,
        region: str,
        retry_delay_seconds: int,
        concurrency: int = 1,
        states: MappingStates | None = None,
    ) -> None:
        self.mapping = mapping
        self._states = states or MappingStates([mapping])
        self.concurrency = max(1, concurrency)
        self._function = function
        self._sqs = sqs
        self._region = region
        self._retry_delay = retry_delay_seconds
        self._slots = threading.Semaphore(self.concurrency)
        self._lock = threading.Lock()
        self._deliveries: set[threading.Thread] = set()
        self.batches = 0
        self.max_in_flight = 0  # the most batches it ever had in invokes at once
        super().__init__(f"poller:{mapping.queue_logical_id}")

    def stop(self) -> None:
        """Stop receiving; wait a little for the batches in flight."""
        super().stop()
        deadline = time.monotonic() + 5
        with self._lock:
            deliveries = list(self._deliveries)
        for delivery in deliveries:
            delivery.join(max(0.0, deadline - time.monotonic()))

    def _run(self) -> None:
        while not self._stop.is_set():
            if not self._states.enabled(self.mapping.uuid):  # paused: no receives at all
                self._stop.wait(0.2)
                continue
            if not self._slots.acquire(timeout=0.5):
                continue
            try:
                messages = self._collect()
            except Exception:  # keep polling, as Lambda's pollers do
                self._slots.release()
                if not self._stop.is_set():
                    log.exception("poller %s failed; retrying", self.mapping.queue_logical_id)
                    self._stop.wait(1)
                continue
            if not messages:
                self._slots.release()
                continue
            delivery = threading.Thread(
                target=self._deliver_in_slot,
                args=(messages,),
                name=f"batch:{self.mapping.queue_logical_id}",
                daemon=True,
            )
            with self._lock:
                self._deliveries.add(delivery)
                self.max_in_flight = max(self.max_in_flight, len(self._deliveries))
            delivery.start()

    def _deliver_in_slot(self, messages: list[dict[str, Any]]) -> None:
        try:
            self._deliver(messages)
        except Exception:
            if not self._stop.is_set():
                log.exception("poller %s: a batch failed", self.mapping.queue_logical_id)
        finally:
            with self._lock:
                self._deliveries.discard(threading.current_thread())
            self._slots.release()

    def _collect(self) -> list[dict[str, Any]]:
        """Up to `batch_size` messages, waiting at most the batching window once one arrived."""
        messages: list[dict[str, Any]] = []
        window_ends: float | None = None
        while len(messages) < self.mapping.batch_size and not self._stop.is_set():
            remaining = 1.0 if window_ends is None else window_ends - time.monotonic()
            if remaining <= 0:
                break
            received = receive_batch(
                self._sqs,
                self.mapping.queue_url,
                self.mapping.batch_size - len(messages),
                wait_seconds=1 if window_ends is None else 0,
            )
            if received:
                messages.extend(received)
                if window_ends is None:
                    window_ends = time.monotonic() + self.mapping.batching_window_seconds
            elif window_ends is None:
                return []
            else:
                time.sleep(min(0.1, max(0.0, window_ends - time.monotonic())))
        return messages

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        with self._lock:
            self.batches += 1
        deliver_batch(
            self._sqs,
            self.mapping,
            messages,
            self._function,
            region=self._region,
            crash_visibility_seconds=self._retry_delay,
        )
