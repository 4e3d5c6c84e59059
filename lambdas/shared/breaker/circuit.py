"""What a stage's failure policy asks its breaker when a record's call to its peer failed.

`CircuitBreaker.peer_failed` counts the failure; once the breaker is open (this failure opened
it, or it already was) the record is parked instead of retried: sent back to its own queue as a
new message, so the receives it used while the peer was down do not count toward the DLQ, and
reported done. The one invocation that opens the breaker pauses the stage's mapping; the probe
resumes it when the peer answers again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import Field

from shared import aws_clients
from shared.breaker.mappings import MappingSwitch
from shared.breaker.settings import (
    PEER_DIMENSION,
    BreakerThresholds,
    GuardedStages,
    Peer,
)
from shared.breaker.store import BreakerStore
from shared.dynamo import iso_time
from shared.metric_names import Metric
from shared.observability import logger, metrics
from shared.settings import FunctionSettings, get_settings

if TYPE_CHECKING:
    # Types only: the data classes package loads every event's class, which the breaker probe's
    # cold start does not otherwise need.
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

PARKED_ATTRIBUTE = "breaker_parked"  # how many times the message was parked


class _BreakerEnvironment(FunctionSettings):
    """A guarded stage's worker: `CIRCUIT_BREAKER` set; any other worker: None."""

    circuit_breaker: GuardedStages | None = None
    aws_lambda_function_name: str = Field(default="", min_length=0)


@dataclass(frozen=True)
class CircuitBreaker:
    peer: Peer
    settings: BreakerThresholds
    function_name: str
    store: BreakerStore
    switch: MappingSwitch = field(default_factory=MappingSwitch)

    def peer_failed(self, record: SQSRecord, reason: str) -> bool:
        """Count the failure; True when the breaker is open and the record must be parked."""
        state = self.store.record_failure(self.peer, self.settings.window_seconds)
        if state.is_open:
            return True
        if state.failures < self.settings.failure_threshold:
            return False
        if self.store.open(self.peer, f"{state.failures} failures: {reason}"):
            logger.error(
                "circuit opened: pausing the stage's event source mapping",
                extra={"peer": self.peer.value, "failures": state.failures, "reason": reason},
            )
            emit(Metric.CIRCUIT_OPENED, self.peer)
            self.pause(record.event_source_arn)
        return True

    def parked(self, record: SQSRecord, reason: str) -> str | None:
        """Count a peer failure; when the breaker is open, park the record and answer when it
        is visible again (ISO time). A breaker that cannot be reached leaves the record to the
        stage's usual retries: None."""
        try:
            if not self.peer_failed(record, reason):
                return None
            self.park(record)
        except (BotoCoreError, ClientError):
            logger.exception("the circuit breaker failed; the record is retried as usual")
            return None
        logger.warning("circuit open; record parked", extra={"peer": self.peer.value})
        return iso_time(datetime.now(UTC) + timedelta(seconds=self.settings.park_delay_seconds))

    def pause(self, source_arn: str) -> None:
        """Pause this function's mapping of `source_arn`; the probe re-pauses it each tick
        while the breaker is open, should this call fail."""
        try:
            mappings = self.switch.mappings_of(self.function_name, source_arn)
            self.switch.set_enabled(mappings, enabled=False)
        except Exception:  # noqa: BLE001 - the record is parked either way
            logger.exception("could not pause the event source mapping; the probe will")

    def park(self, record: SQSRecord) -> None:
        """Send the record back to its queue as a new message (its receives start again)."""
        raw = record.raw_event.get("messageAttributes") or {}
        attributes = forwarded_attributes(record)
        parked = int((raw.get(PARKED_ATTRIBUTE) or {}).get("stringValue") or 0) + 1
        attributes[PARKED_ATTRIBUTE] = {"DataType": "Number", "StringValue": str(parked)}
        aws_clients.sqs().send_message(
            QueueUrl=record.queue_url,
            MessageBody=record.body,
            MessageAttributes=attributes,
            DelaySeconds=self.settings.park_delay_seconds,
        )
        emit(Metric.CIRCUIT_PARKED, self.peer)


def forwarded_attributes(record: SQSRecord) -> dict[str, Any]:
    """The record's string message attributes, as SendMessage takes them."""
    return {
        name: {"DataType": "String", "StringValue": value["stringValue"]}
        for name, value in (record.raw_event.get("messageAttributes") or {}).items()
        if value.get("stringValue")
    }


def emit(metric: Metric, peer: Peer, value: float = 1) -> None:
    """One EMF document per call: the `peer` dimension is this metric's alone."""
    with single_metric(
        name=metric.value,
        unit=MetricUnit.Count,
        value=value,
        namespace=metrics.namespace,
        default_dimensions=metrics.default_dimensions,
    ) as metric_doc:
        metric_doc.add_dimension(name=PEER_DIMENSION, value=peer.value)


@lru_cache(maxsize=1)
def stage_breakers() -> dict[str, CircuitBreaker]:
    """This container's breakers by stage name, from its environment; none for a worker whose
    stages call no guarded peer."""
    environment = get_settings(_BreakerEnvironment)
    settings = environment.circuit_breaker
    if settings is None:
        return {}
    store = BreakerStore(settings.table_name)
    return {
        stage: CircuitBreaker(
            peer=peer,
            settings=settings,
            function_name=environment.aws_lambda_function_name,
            store=store,
        )
        for stage, peer in settings.stages.items()
    }
