"""One DynamoDB table through the low-level client, its items as plain Python values (as boto3's
Table resource gives them: numbers as Decimal, sets as sets), with the resource's method names
and arguments, so a store reads the same either way.

Why not the resource: its generic transformation walks each operation's whole input and output
shapes and deep-copies the parameters on every call, about a fifth of a call's CPU, which a
batch's concurrent records spend one thread at a time (bench: batches); and creating it costs a
container's first invocation a second client and the resource model. Here only the arguments that
hold attribute values or condition objects are converted.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from shared import aws_clients

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()
# The arguments that hold one item (or key) of attribute values; ExpressionAttributeValues too.
_ITEM_ARGUMENTS = ("Key", "Item", "ExclusiveStartKey", "ExpressionAttributeValues")
_CONDITION_ARGUMENTS = ("KeyConditionExpression", "FilterExpression", "ConditionExpression")
_ITEM_ANSWERS = ("Item", "Attributes", "LastEvaluatedKey")
_BATCH_GET_KEYS = 100  # the BatchGetItem maximum
# Calls per chunk of a batch read or write before what DynamoDB keeps leaving unprocessed (it
# throttles) fails the work, so that its caller's retry (a redelivery, a client's) comes later.
BATCH_ATTEMPTS = 5
_FIRST_PAUSE_SECONDS = 0.05


class BatchIncompleteError(Exception):
    """DynamoDB kept leaving part of a batch read or write unprocessed (throttling): the work
    must be retried later."""


def pause_before(attempt: int) -> None:
    """Nothing before a chunk's first call; then an exponential pause with full jitter, so that
    concurrent callers throttled together do not come back together."""
    if attempt:
        time.sleep(random.uniform(0, _FIRST_PAUSE_SECONDS * 2**attempt))  # noqa: S311


def to_attributes(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _SERIALIZER.serialize(value) for name, value in values.items()}


def from_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _DESERIALIZER.deserialize(value) for name, value in attributes.items()}


class ItemTable:
    """`get_item`, `put_item`, `update_item`, `delete_item` and `query`, as on boto3's Table."""

    def __init__(self, name: str, client: DynamoDBClient | None = None) -> None:
        self.name = name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        # Looked up per call: the container's one client, created on first use.
        return self._client or aws_clients.dynamodb_client()

    def get_item(self, **arguments: Any) -> dict[str, Any]:
        return self._call(self.client.get_item, arguments)

    def put_item(self, **arguments: Any) -> dict[str, Any]:
        return self._call(self.client.put_item, arguments)

    def update_item(self, **arguments: Any) -> dict[str, Any]:
        return self._call(self.client.update_item, arguments)

    def delete_item(self, **arguments: Any) -> dict[str, Any]:
        return self._call(self.client.delete_item, arguments)

    def query(self, **arguments: Any) -> dict[str, Any]:
        answer = self._call(self.client.query, arguments)
        if "Items" in answer:
            answer["Items"] = [from_attributes(item) for item in answer["Items"]]
        return answer

    def _call(self, operation: Callable[..., Any], arguments: dict[str, Any]) -> dict[str, Any]:
        answer = dict(operation(TableName=self.name, **_request(arguments)))
        for name in _ITEM_ANSWERS:
            if name in answer:
                answer[name] = from_attributes(answer[name])
        return answer


def _request(arguments: dict[str, Any]) -> dict[str, Any]:
    request = dict(arguments)
    for name in _ITEM_ARGUMENTS:
        if name in request:
            request[name] = to_attributes(request[name])
    objects = [n for n in _CONDITION_ARGUMENTS if n in request and not isinstance(request[n], str)]
    if objects:
        _build_conditions(request, objects)
    return request


def _build_conditions(request: dict[str, Any], names: list[str]) -> None:
    """boto3's condition objects (`Key(...).eq(...)`, `Attr(...)`) as expressions, with the
    placeholders they need added to the request's own (one builder: no clashes between them)."""
    from boto3.dynamodb.conditions import ConditionExpressionBuilder  # only queries use them

    builder = ConditionExpressionBuilder()
    placeholders: dict[str, str] = dict(request.get("ExpressionAttributeNames") or {})
    values: dict[str, Any] = dict(request.get("ExpressionAttributeValues") or {})
    for name in names:
        built = builder.build_expression(
            request[name], is_key_condition=name == "KeyConditionExpression"
        )
        request[name] = built.condition_expression
        placeholders.update(built.attribute_name_placeholders)
        values.update(to_attributes(built.attribute_value_placeholders))
    if placeholders:
        request["ExpressionAttributeNames"] = placeholders
    if values:
        request["ExpressionAttributeValues"] = values


def batch_get(
    table_name: str,
    keys: list[dict[str, Any]],
    *,
    client: DynamoDBClient | None = None,
    **options: Any,
) -> list[dict[str, Any]]:
    """The items at `keys` (BatchGetItem, at most 100 keys per call; what DynamoDB leaves
    unprocessed is asked again after `pause_before`, BatchIncompleteError when some is still
    unread after BATCH_ATTEMPTS calls), in no particular order; a missing item is left out.
    `options`: the table's request options (ProjectionExpression, ConsistentRead...)."""
    dynamodb = client or aws_clients.dynamodb_client()
    items: list[dict[str, Any]] = []
    for start in range(0, len(keys), _BATCH_GET_KEYS):
        chunk = [to_attributes(key) for key in keys[start : start + _BATCH_GET_KEYS]]
        request: dict[str, Any] = {table_name: {"Keys": chunk, **options}}
        for attempt in range(BATCH_ATTEMPTS):
            pause_before(attempt)
            answer = dynamodb.batch_get_item(RequestItems=request)
            items += [from_attributes(i) for i in answer.get("Responses", {}).get(table_name, [])]
            request = dict(answer.get("UnprocessedKeys") or {})  # already in DynamoDB's form
            if not request:
                break
        else:
            unread = len(request.get(table_name, {}).get("Keys", []))
            raise BatchIncompleteError(
                f"{unread} of {len(keys)} keys of {table_name} still unprocessed after "
                f"{BATCH_ATTEMPTS} BatchGetItem attempts"
            )
    return items


def put_requests(table_name: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """BatchWriteItem's `RequestItems` putting `items` (the caller chunks them: 25 at most).
    What DynamoDB answers unprocessed is already in this form: send it again as it is."""
    return {table_name: [{"PutRequest": {"Item": to_attributes(item)}} for item in items]}
