"""`local.moto_extensions`: moto's DynamoDB gets DynamoDB's atomic writes, in the tests and on
the local runtime's moto server alike (conftest and the server both apply them)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import table as moto_table

from local.moto_extensions import apply


def test_concurrent_conditional_creates_of_one_item_let_exactly_one_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given moto takes a while between reading the item and writing it, as a busy server can
    original = moto_table.get_filter_expression  # type: ignore[attr-defined]

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.02)
        return original(*args, **kwargs)

    monkeypatch.setattr(moto_table, "get_filter_expression", slow)
    apply()  # again: applying twice must not stack the lock
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="claims",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )

        def claim(n: int) -> str:
            try:
                client.put_item(
                    TableName="claims",
                    Item={"id": {"S": "event-1"}, "by": {"S": str(n)}},
                    ConditionExpression="attribute_not_exists(id)",
                )
            except ClientError as exc:
                return str(exc.response["Error"]["Code"])
            return "created"

        # When eight writers try to create the same item at once
        with ThreadPoolExecutor(8) as pool:
            won = list(pool.map(claim, range(8)))

    # Then exactly one creates it and the others are refused, as on DynamoDB
    assert sorted(won) == ["ConditionalCheckFailedException"] * 7 + ["created"]
