"""`bench.replay`: the batch benchmark's timed runs are answered from what moto answered the
recorded run, without moto, and a run that strays from the recording voids the figure."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

from bench.replay import Replay, UnrecordedCallError

TABLE = "replayed"


@pytest.fixture
def replay(monkeypatch: pytest.MonkeyPatch) -> Iterator[Replay]:
    replay = Replay()
    monkeypatch.setattr(BotocoreStubber, "__call__", replay.wrap(BotocoreStubber.__call__))
    with mock_aws():
        yield replay


@pytest.fixture
def table(replay: Replay) -> Any:
    client = boto3.client("dynamodb")
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return boto3.resource("dynamodb").Table(TABLE)


def test_a_replayed_call_gets_the_recorded_answer_not_moto_s(replay: Replay, table: Any) -> None:
    table.put_item(Item={"id": "a", "n": 1})
    with replay.recording():
        recorded = table.get_item(Key={"id": "a"})["Item"]
    table.delete_item(Key={"id": "a"})  # moto no longer holds it: only the recording does

    with replay.replaying():
        replayed = table.get_item(Key={"id": "a"})

    assert recorded == {"id": "a", "n": 1}
    assert replayed["Item"] == recorded
    assert "Item" not in table.get_item(Key={"id": "a"})  # off again: moto answers


def test_answers_of_one_request_are_replayed_in_the_order_recorded(
    replay: Replay, table: Any
) -> None:
    with replay.recording():
        table.put_item(Item={"id": "a", "n": 1})
        first = table.get_item(Key={"id": "a"})["Item"]
        table.put_item(Item={"id": "a", "n": 2})
        second = table.get_item(Key={"id": "a"})["Item"]

    with replay.replaying():
        table.put_item(Item={"id": "a", "n": 1})
        assert table.get_item(Key={"id": "a"})["Item"] == first
        table.put_item(Item={"id": "a", "n": 2})
        assert table.get_item(Key={"id": "a"})["Item"] == second


def test_a_call_the_recorded_run_did_not_make_is_refused(replay: Replay, table: Any) -> None:
    with replay.recording():
        table.get_item(Key={"id": "a"})

    with pytest.raises(UnrecordedCallError, match="no recorded answer"), replay.replaying():
        table.get_item(Key={"id": "b"})


def test_a_recorded_call_the_replayed_run_did_not_make_is_refused(
    replay: Replay, table: Any
) -> None:
    with replay.recording():
        table.get_item(Key={"id": "a"})
        table.get_item(Key={"id": "b"})

    with pytest.raises(UnrecordedCallError, match="did not make"), replay.replaying():
        table.get_item(Key={"id": "a"})
