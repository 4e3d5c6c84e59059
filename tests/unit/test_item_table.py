"""`shared.item_table`: the stores' table over the low-level client gives and takes items as
boto3's Table resource does, condition objects included, and reads every key of a batch."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from boto3.dynamodb.conditions import Attr, Key
from boto3.dynamodb.types import Binary
from botocore.exceptions import ClientError
from moto import mock_aws

from shared import aws_clients
from shared.dynamo import condition_failed
from shared.item_table import (
    BATCH_ATTEMPTS,
    BatchIncompleteError,
    ItemTable,
    batch_get,
    from_attributes,
    put_requests,
    to_attributes,
)

TABLE = "items"
ITEM: dict[str, Any] = {
    "pk": "a",
    "sk": "1",
    "count": Decimal(3),
    "price": Decimal("9.99"),
    "tags": {"x", "y"},
    "nested": {"list": [Decimal(1), "two", None, True], "empty": {}},
    "blob": b"\x00\x01",
}


@pytest.fixture
def table() -> Iterator[ItemTable]:
    with mock_aws():
        aws_clients.reset()
        boto3.client("dynamodb").create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield ItemTable(TABLE)
        aws_clients.reset()


def resource_item(key: dict[str, str]) -> dict[str, Any]:
    """The item as boto3's own Table resource reads it: what the stores must read alike."""
    return dict(boto3.resource("dynamodb").Table(TABLE).get_item(Key=key)["Item"])


def test_an_item_reads_back_as_the_resource_gives_it(table: ItemTable) -> None:
    table.put_item(Item=ITEM)

    read = table.get_item(Key={"pk": "a", "sk": "1"}, ConsistentRead=True)["Item"]

    assert read == ITEM == resource_item({"pk": "a", "sk": "1"})
    assert isinstance(read["blob"], Binary)
    assert "Item" not in table.get_item(Key={"pk": "a", "sk": "missing"})


def test_an_update_answers_its_attributes_and_a_refused_condition_raises(
    table: ItemTable,
) -> None:
    table.put_item(Item=ITEM)
    answer = table.update_item(
        Key={"pk": "a", "sk": "1"},
        UpdateExpression="ADD #c :one SET tags = :tags",
        ConditionExpression="#c = :three",
        ExpressionAttributeNames={"#c": "count"},
        ExpressionAttributeValues={":one": 1, ":three": 3, ":tags": {"z"}},
        ReturnValues="UPDATED_NEW",
    )
    assert answer["Attributes"] == {"count": Decimal(4), "tags": {"z"}}

    with pytest.raises(ClientError) as refused:
        table.put_item(Item={"pk": "a", "sk": "1"}, ConditionExpression="attribute_not_exists(pk)")
    assert condition_failed(refused.value)
    table.delete_item(Key={"pk": "a", "sk": "1"})
    assert "Item" not in table.get_item(Key={"pk": "a", "sk": "1"})


def test_a_query_takes_condition_objects_beside_its_own_placeholders_and_pages(
    table: ItemTable,
) -> None:
    for n in range(5):
        table.put_item(Item={"pk": "p", "sk": f"{n}", "n": n, "kind": "odd" if n % 2 else "even"})

    # Condition objects, and a projection with its own names: the placeholders do not clash
    arguments: dict[str, Any] = {
        "KeyConditionExpression": Key("pk").eq("p") & Key("sk").gte("1"),
        "FilterExpression": Attr("kind").eq("odd"),
        "ProjectionExpression": "#s, #n",
        "ExpressionAttributeNames": {"#s": "sk", "#n": "n"},
        "Limit": 2,
    }
    seen: list[dict[str, Any]] = []
    pages = 0
    while True:
        page = table.query(**arguments)
        pages += 1
        seen += page["Items"]
        if "LastEvaluatedKey" not in page:
            break
        assert page["LastEvaluatedKey"]["pk"] == "p"  # plain values: a cursor can encode them
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    assert seen == [{"sk": "1", "n": Decimal(1)}, {"sk": "3", "n": Decimal(3)}]
    assert pages >= 2


def test_a_batch_read_gets_every_key_past_one_call(table: ItemTable) -> None:
    for n in range(130):
        table.put_item(Item={"pk": "b", "sk": f"{n:03}", "n": n})
    keys = [{"pk": "b", "sk": f"{n:03}"} for n in range(140)]  # 10 of them missing

    read = batch_get(TABLE, keys, ConsistentRead=True, ProjectionExpression="sk")

    assert sorted(item["sk"] for item in read) == [f"{n:03}" for n in range(130)]


def test_a_batch_read_asks_again_for_what_dynamodb_left_unprocessed() -> None:
    class Throttled:
        def __init__(self) -> None:
            self.requests: list[dict[str, Any]] = []

        def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
            self.requests.append(RequestItems)
            keys = RequestItems[TABLE]["Keys"]
            if len(self.requests) == 1:  # the first call: one key left unprocessed
                return {
                    "Responses": {TABLE: keys[1:]},
                    "UnprocessedKeys": {TABLE: {**RequestItems[TABLE], "Keys": keys[:1]}},
                }
            return {"Responses": {TABLE: keys}, "UnprocessedKeys": {}}

    client = Throttled()
    keys = [{"pk": "k", "sk": str(n)} for n in range(3)]

    read = batch_get(TABLE, keys, client=client, ConsistentRead=True)  # type: ignore[arg-type]

    assert sorted(read, key=lambda item: item["sk"]) == keys
    assert client.requests[1][TABLE] == {"Keys": [to_attributes(keys[0])], "ConsistentRead": True}


def test_a_batch_read_dynamodb_keeps_throttling_fails_after_bounded_paused_attempts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class AlwaysThrottled:
        calls = 0

        def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
            self.calls += 1
            keys = RequestItems[TABLE]["Keys"]
            return {
                "Responses": {TABLE: keys[:1]},  # one key read, the others left each time
                "UnprocessedKeys": {TABLE: {**RequestItems[TABLE], "Keys": keys[1:]}},
            }

    pauses: list[float] = []
    monkeypatch.setattr(time, "sleep", pauses.append)
    client = AlwaysThrottled()
    keys = [{"pk": "k", "sk": str(n)} for n in range(10)]

    with pytest.raises(BatchIncompleteError, match="5 of 10 keys of items still unprocessed"):
        batch_get(TABLE, keys, client=client)  # type: ignore[arg-type]

    assert client.calls == BATCH_ATTEMPTS
    assert len(pauses) == BATCH_ATTEMPTS - 1
    assert all(0 <= p <= 0.05 * 2**n for n, p in enumerate(pauses, start=1))


def test_put_requests_are_in_dynamodb_s_form_and_convert_back() -> None:
    [(name, [request])] = put_requests(TABLE, [ITEM]).items()

    assert name == TABLE
    assert request["PutRequest"]["Item"]["count"] == {"N": "3"}
    assert from_attributes(request["PutRequest"]["Item"]) == ITEM
