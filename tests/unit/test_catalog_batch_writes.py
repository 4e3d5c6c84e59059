"""`put_in_batches`: BatchWriteItem 25 items at a time, what DynamoDB leaves unprocessed sent
again after a pause, and a clear failure when some never go."""

from __future__ import annotations

import time
from typing import Any, cast

import pytest

from catalog.store.table import WritesIncompleteError, put_in_batches
from shared.item_table import BATCH_ATTEMPTS


class FakeClient:
    """A DynamoDB client whose BatchWriteItem leaves the first item of a call unprocessed for
    its first `throttled` calls."""

    def __init__(self, throttled: int) -> None:
        self.throttled = throttled
        self.calls: list[list[str]] = []

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803
        [(name, requests)] = RequestItems.items()
        self.calls.append([r["PutRequest"]["Item"]["id"]["S"] for r in requests])
        if len(self.calls) <= self.throttled:
            return {"UnprocessedItems": {name: requests[:1]}}
        return {"UnprocessedItems": {}}


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)  # the pauses, recorded instead of slept
    return slept


def items(count: int) -> list[dict[str, Any]]:
    return [{"id": f"i{n}"} for n in range(count)]


def test_items_are_written_25_per_call(pauses: list[float]) -> None:
    client = FakeClient(throttled=0)

    assert put_in_batches("products", items(60), client=cast(Any, client)) == 3

    assert [len(call) for call in client.calls] == [25, 25, 10]
    assert pauses == []


def test_unprocessed_items_are_sent_again_after_a_growing_pause(pauses: list[float]) -> None:
    # Given DynamoDB leaves one item unprocessed twice
    client = FakeClient(throttled=2)

    # When 3 items are written
    calls = put_in_batches("products", items(3), client=cast(Any, client))

    # Then only the unprocessed one is sent again, after a pause each time, and all are written
    assert calls == 3
    assert client.calls == [["i0", "i1", "i2"], ["i0"], ["i0"]]
    assert len(pauses) == 2
    assert all(0 <= p <= 0.05 * 2**n for n, p in enumerate(pauses, start=1))


def test_items_that_never_go_raise_with_how_many(pauses: list[float]) -> None:
    client = FakeClient(throttled=100)

    with pytest.raises(WritesIncompleteError, match="1 of 2 items to products still unprocessed"):
        put_in_batches("products", items(2), client=cast(Any, client))

    assert len(client.calls) == BATCH_ATTEMPTS
    assert len(pauses) == BATCH_ATTEMPTS - 1
