"""The capacity rules `bench.capacity` counts by: item sizes as DynamoDB measures them, and the
index writes a table write causes (the sparse projections are judged by these)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from bench.capacity import _Table, item_size, value_size


def _table(*indexes: dict[str, Any]) -> _Table:
    table = object.__new__(_Table)
    table.keys = ["event_id"]
    table.table = SimpleNamespace(  # type: ignore[assignment]
        global_indexes=[
            SimpleNamespace(
                name=i["name"],
                schema=[
                    {"AttributeName": i["pk"], "KeyType": "HASH"},
                    {"AttributeName": "received_at", "KeyType": "RANGE"},
                ],
                projection=i["projection"],
            )
            for i in indexes
        ]
    )
    return table


BY_STATUS = {
    "name": "by-status",
    "pk": "status",
    "projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["updated_at"]},
}
BY_PIPELINE = {
    "name": "by-pipeline",
    "pk": "pipeline",
    "projection": {"ProjectionType": "KEYS_ONLY"},
}


def _event(status: str, **more: Any) -> dict[str, Any]:
    item = {
        "event_id": {"S": "e-1"},
        "status": {"S": status},
        "pipeline": {"S": "orders"},
        "received_at": {"S": "2026-12-02T10:00:00.000Z"},
        "updated_at": {"S": "2026-12-02T10:00:00.000Z"},
    }
    return {**item, **{k: {"S": v} for k, v in more.items()}}


def test_sizes_follow_dynamodbs_rules() -> None:
    assert value_size({"S": "héllo"}) == 6  # UTF-8 bytes
    assert value_size({"N": "12345"}) == 4  # (5 digits + 1) / 2 + 1
    assert value_size({"BOOL": True}) == 1
    assert value_size({"L": [{"S": "ab"}]}) == 3 + 2 + 1
    assert value_size({"M": {"k": {"S": "ab"}}}) == 3 + 1 + 2 + 1
    assert item_size({"id": {"S": "abc"}}) == 2 + 3


def test_a_new_item_is_written_once_into_each_index_it_is_in() -> None:
    table = _table(BY_STATUS, BY_PIPELINE)
    assert table.index_writes(None, _event("QUEUED")) == 2


def test_a_key_change_is_a_delete_and_a_put_and_an_unprojected_change_costs_nothing() -> None:
    table = _table(BY_STATUS, BY_PIPELINE)
    queued = _event("QUEUED", intake_claim="t")
    # Given a status change: moved in the status index, the keys-only pipeline index untouched
    assert table.index_writes(queued, _event("DOWNLOADED", intake_claim="t")) == 2
    # And dropping an attribute no index projects writes no index
    assert table.index_writes(queued, _event("QUEUED")) == 0


def test_an_item_without_an_index_key_is_not_in_that_index() -> None:
    table = _table(BY_STATUS)
    item = _event("QUEUED")
    del item["status"]
    assert table.index_writes(None, item) == 0
