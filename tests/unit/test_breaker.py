"""The circuit breaker's parts offline (moto): its table counts failures across invocations in a
window and opens once; a guarded stage parks records while it is open; the probe closes it
only when the peer answers, and never an operator's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from moto import mock_aws

from breaker_probe.probe import Probe
from ops_cli.breaker import BreakerControl, BreakerError
from ops_cli.breaker_commands import MAX_REASON_LENGTH
from ops_cli.main import main as ops
from shared import aws_clients
from shared.breaker.circuit import PARKED_ATTRIBUTE, CircuitBreaker
from shared.breaker.settings import BreakerThresholds, Peer, ProbeTarget
from shared.breaker.store import BreakerStore, Hold

TABLE = "breakers"
THRESHOLDS = BreakerThresholds(failure_threshold=3, window_seconds=60, park_delay_seconds=0)


class FakeSwitch:
    """The mappings of one function, by UUID: enabled or not."""

    def __init__(self, *uuids: str) -> None:
        self.enabled = dict.fromkeys(uuids, True)

    def mappings_of(self, function_name: str, source_arn: str) -> list[str]:
        return list(self.enabled)

    def set_enabled(self, mapping_ids: Any, *, enabled: bool) -> list[str]:
        changed = [u for u in mapping_ids if self.enabled[u] is not enabled]
        for uuid in changed:
            self.enabled[uuid] = enabled
        return changed


@pytest.fixture
def aws() -> Iterator[Any]:
    with mock_aws():
        aws_clients.reset()
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "peer", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "peer", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        queue = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="work")
        yield dynamodb, queue["QueueUrl"]
        aws_clients.reset()


def _record(queue_url: str) -> SQSRecord:
    arn = "arn:aws:sqs:us-east-1:123456789012:work"
    assert queue_url.endswith("/work")
    return SQSRecord(
        {
            "messageId": "m1",
            "receiptHandle": "r1",
            "body": '{"event_id": "e1"}',
            "attributes": {"ApproximateReceiveCount": "8"},
            "messageAttributes": {
                "event_id": {"stringValue": "e1", "dataType": "String"},
            },
            "eventSource": "aws:sqs",
            "eventSourceARN": arn,
            "awsRegion": "us-east-1",
        }
    )


def test_failures_are_counted_per_window_and_a_new_window_starts_from_one(aws: Any) -> None:
    store = BreakerStore(TABLE, aws[0])
    # Given two failures in one window
    store.record_failure(Peer.INTERNAL_API, 60, now=120.0)
    second = store.record_failure(Peer.INTERNAL_API, 60, now=150.0)
    # When the next comes in the next window
    third = store.record_failure(Peer.INTERNAL_API, 60, now=181.0)
    # Then the count started again, and the other peers were never touched
    assert (second.failures, third.failures) == (2, 1)
    assert store.get(Peer.PROVIDER).failures == 0


def test_only_one_caller_opens_the_breaker_and_closing_resets_it(aws: Any) -> None:
    store = BreakerStore(TABLE, aws[0])
    assert store.open(Peer.PROVIDER, "boom")
    assert not store.open(Peer.PROVIDER, "boom again")
    assert store.get(Peer.PROVIDER).reason == "boom"
    assert store.close(Peer.PROVIDER, "test")
    assert not store.close(Peer.PROVIDER, "test")
    closed = store.get(Peer.PROVIDER)
    assert (closed.is_open, closed.failures, closed.reason) == (False, 0, None)


def test_a_stage_parks_records_once_its_failures_pass_the_threshold(aws: Any) -> None:
    dynamodb, queue_url = aws
    switch = FakeSwitch("esm-1")
    breaker = CircuitBreaker(
        Peer.INTERNAL_API,
        THRESHOLDS,
        "worker",
        BreakerStore(TABLE, dynamodb),
        switch,  # type: ignore[arg-type]
    )
    record = _record(queue_url)
    # Given failures below the threshold: the stage's usual retries
    assert breaker.parked(record, "503") is None
    assert breaker.parked(record, "503") is None
    assert switch.enabled == {"esm-1": True}
    # When the threshold is reached
    parked = breaker.parked(record, "503")
    # Then the breaker is open, the mapping paused, and the record is back on its queue as a
    # new message (its receives start again), marked as parked
    assert parked is not None
    assert switch.enabled == {"esm-1": False}
    assert BreakerStore(TABLE, dynamodb).get(Peer.INTERNAL_API).is_open
    [message] = boto3.client("sqs", region_name="us-east-1").receive_message(
        QueueUrl=queue_url, MessageAttributeNames=["All"], AttributeNames=["All"]
    )["Messages"]
    assert message["Body"] == record.body
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    assert message["MessageAttributes"]["event_id"]["StringValue"] == "e1"
    assert message["MessageAttributes"][PARKED_ATTRIBUTE]["StringValue"] == "1"


def _target(peer: Peer) -> ProbeTarget:
    """The probe's view of one guarded stage: one worker on one queue."""
    return ProbeTarget(
        peer=peer,
        method="POST",
        url=f"http://peer/{peer.value}",
        function_name="worker",
        source_arns=("arn:queue",),
    )


def _probe(store: BreakerStore, switch: FakeSwitch, answers: bool) -> Probe:
    return Probe(store=store, switch=switch, answers=lambda _: answers)  # type: ignore[arg-type]


def test_the_probe_closes_an_open_breaker_only_when_the_peer_answers(aws: Any) -> None:
    store, switch = BreakerStore(TABLE, aws[0]), FakeSwitch("esm-1")
    target = _target(Peer.INTERNAL_API)
    store.open(Peer.INTERNAL_API, "down")
    switch.enabled["esm-1"] = True  # the worker that opened it could not pause it

    still_down = _probe(store, switch, answers=False).check(target)
    assert (still_down.open, switch.enabled["esm-1"]) == (True, False)  # paused by the probe

    back = _probe(store, switch, answers=True).check(target)
    assert (back.open, back.closed_now, switch.enabled["esm-1"]) == (False, True, True)
    assert not store.get(Peer.INTERNAL_API).is_open


def test_the_probe_leaves_an_operators_open_breaker_open(aws: Any) -> None:
    store, switch = BreakerStore(TABLE, aws[0]), FakeSwitch("esm-1")
    target = _target(Peer.PROVIDER)
    store.hold(Peer.PROVIDER, "maintenance window")
    result = _probe(store, switch, answers=True).check(target)
    assert result.open
    assert store.get(Peer.PROVIDER).manual
    assert switch.enabled["esm-1"] is False


def test_an_operator_holds_a_breaker_that_opened_on_its_own(aws: Any) -> None:
    store, switch = BreakerStore(TABLE, aws[0]), FakeSwitch("esm-1")
    target = _target(Peer.INTERNAL_API)
    # Given a breaker the stage opened, and an operator who holds it (their maintenance)
    assert store.open(Peer.INTERNAL_API, "5 failures: 503")
    opened_at = store.get(Peer.INTERNAL_API).opened_at
    assert store.hold(Peer.INTERNAL_API, "their maintenance") is Hold.TAKEN_OVER
    # When the peer answers the probe, Then the breaker stays open, when it first opened
    assert _probe(store, switch, answers=True).check(target).open
    held = store.get(Peer.INTERNAL_API)
    assert (held.is_open, held.manual, held.opened_at) == (True, True, opened_at)
    assert (held.reason, switch.enabled["esm-1"]) == ("their maintenance", False)
    # And holding it again says so, with the new reason
    assert store.hold(Peer.INTERNAL_API, "until Monday") is Hold.ALREADY_HELD
    assert store.get(Peer.INTERNAL_API).reason == "until Monday"
    # And a closed breaker held is opened
    assert store.close(Peer.INTERNAL_API, "ops")
    assert store.hold(Peer.INTERNAL_API, "again") is Hold.OPENED


class RacingSwitch(FakeSwitch):
    """Runs `race` once, at the moment the probe pauses (`on=False`) or resumes (`on=True`): an
    operator's close, or hold, landing between the probe's read of the breaker and its write."""

    def __init__(self, race: Any, *uuids: str, on: bool = False) -> None:
        super().__init__(*uuids)
        self.race, self.on = race, on

    def set_enabled(self, mapping_ids: Any, *, enabled: bool) -> list[str]:
        if enabled is self.on and self.race is not None:
            race, self.race = self.race, None
            race()
        return super().set_enabled(mapping_ids, enabled=enabled)


def test_the_probe_does_not_close_a_breaker_an_operator_held_while_it_probed(aws: Any) -> None:
    store = BreakerStore(TABLE, aws[0])
    target = _target(Peer.INTERNAL_API)
    store.open(Peer.INTERNAL_API, "5 failures: 503")
    switch = RacingSwitch(lambda: store.hold(Peer.INTERNAL_API, "hold it"), "esm-1", on=True)
    switch.enabled["esm-1"] = False  # paused by the worker that opened it
    # Given a tick that read the breaker open on its own and found the peer answering
    result = _probe(store, switch, answers=True).check(target)
    # Then the operator's hold wins: the breaker open and held, the stage paused again
    assert (result.open, result.closed_now, result.paused) == (True, False, ("esm-1",))
    held = store.get(Peer.INTERNAL_API)
    assert (held.is_open, held.manual, switch.enabled["esm-1"]) == (True, True, False)


def test_a_pause_that_loses_a_race_with_a_close_is_undone_at_the_next_tick(aws: Any) -> None:
    store = BreakerStore(TABLE, aws[0])
    target = _target(Peer.INTERNAL_API)
    store.hold(Peer.INTERNAL_API, "e2e")

    def operator_closes() -> None:  # what `ops breaker close` does: resume, then close
        switch.enabled["esm-1"] = True
        store.close(Peer.INTERNAL_API, "operator")

    switch = RacingSwitch(operator_closes, "esm-1")
    switch.enabled["esm-1"] = False  # paused by the operator's open
    # Given a tick that read the breaker open, then paused after the operator had closed it
    first = _probe(store, switch, answers=True).check(target)
    assert first.open
    assert (store.get(Peer.INTERNAL_API).is_open, switch.enabled["esm-1"]) == (False, False)

    # When the next tick runs, Then the closed breaker's stage is resumed
    second = _probe(store, switch, answers=True).check(target)
    assert (second.open, second.resumed, switch.enabled["esm-1"]) == (False, ("esm-1",), True)
    # And a tick with nothing to mend changes nothing
    assert _probe(store, switch, answers=True).check(target).resumed == ()


class FakeLambda:
    """Lambda's mapping API for `ops breaker`: Get and Update by UUID."""

    def __init__(self, *uuids: str) -> None:
        self.states = dict.fromkeys(uuids, "Enabled")

    def get_event_source_mapping(self, UUID: str) -> dict[str, str]:  # noqa: N803 - boto3's
        return {"UUID": UUID, "State": self.states[UUID]}

    def update_event_source_mapping(self, UUID: str, Enabled: bool) -> None:  # noqa: N803
        self.states[UUID] = "Enabled" if Enabled else "Disabled"


def test_an_operator_opens_and_closes_a_breaker_with_its_stages_mappings(aws: Any) -> None:
    lambda_client = FakeLambda("esm-p", "esm-d")
    outputs = {
        "CircuitBreakerTableName": TABLE,
        "CircuitBreakerMappings": json.dumps(
            {"internal_api": ["esm-p"], "marketplace_api": ["esm-d"]}
        ),
    }
    control = BreakerControl.of(outputs, aws[0], lambda_client)
    # When an operator opens the internal API's breaker
    opened = control.open(Peer.INTERNAL_API, "their maintenance")
    # Then only its stage is paused, and the breaker says who opened it
    assert opened == {
        "peer": "internal_api",
        "opened": True,
        "hold": Hold.OPENED,
        "paused": ["esm-p"],
    }
    status = {b["peer"]: b for b in control.status()}
    assert status["internal_api"]["manual"]
    assert status["internal_api"]["mappings"] == {"esm-p": "Disabled"}
    assert status["marketplace_api"]["mappings"] == {"esm-d": "Enabled"}
    # And closing it resumes the stage
    assert control.close(Peer.INTERNAL_API) == {
        "peer": "internal_api",
        "closed": True,
        "resumed": ["esm-p"],
    }
    assert lambda_client.states == {"esm-p": "Enabled", "esm-d": "Enabled"}


def test_an_operator_cannot_open_a_breaker_whose_stage_the_stack_does_not_name(aws: Any) -> None:
    outputs = {
        "CircuitBreakerTableName": TABLE,
        "CircuitBreakerMappings": json.dumps({"internal_api": ["esm-p"]}),
    }
    control = BreakerControl.of(outputs, aws[0], FakeLambda("esm-p"))
    with pytest.raises(BreakerError, match="no breaker guards provider"):
        control.open(Peer.PROVIDER, "their maintenance")
    # Nothing was written: a breaker held open over a stage nobody can pause would mislead
    assert not BreakerStore(TABLE, aws[0]).get(Peer.PROVIDER).is_open


@pytest.mark.parametrize(
    ("reason", "refusal"),
    [("   ", "it is blank"), ("x" * (MAX_REASON_LENGTH + 1), f"at most {MAX_REASON_LENGTH}")],
)
def test_ops_breaker_open_refuses_a_reason_that_would_not_say_why(
    reason: str, refusal: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        ops(["--local", "breaker", "open", "internal_api", "--reason", reason])
    assert exited.value.code == 2
    assert refusal in capsys.readouterr().err
