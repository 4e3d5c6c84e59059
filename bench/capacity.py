"""Counting what the functions ask of AWS: every call their clients make (botocore's
`before-parameter-build` event, once per API call, retries not counted) and the DynamoDB capacity
each call consumes.

moto reports no real consumed capacity (a constant per call), so the units are computed here by
DynamoDB's published rules from the items themselves, read from moto's backend before and after
each write: a write costs ceil(KB) of the larger of the item before and after it, at least 1; each
global secondary index the item is in costs ceil(KB) of its index entry (the projected attributes
plus 100 bytes) when a projected attribute changes, a delete plus a put when an index key changes;
a refused conditional write costs ceil(KB) of the item it found; a transaction costs double. A
read costs ceil(KB / 4) of what it returned, half of that when eventually consistent.
"""

from __future__ import annotations

import base64
import math
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
INDEX_ENTRY_OVERHEAD = 100  # bytes DynamoDB adds to every index entry
_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


@dataclass
class Usage:
    """What was counted while the meter was armed."""

    calls: Counter[str] = field(default_factory=Counter)  # "dynamodb.PutItem" -> calls
    write_units: float = 0.0  # tables and indexes
    index_write_units: float = 0.0
    read_units: float = 0.0
    s3_bytes_stored: int = 0


def value_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value in DynamoDB's JSON (as botocore and moto hold it)."""
    [(kind, data)] = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        digits = data.lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(data) if isinstance(data, bytes) else len(base64.b64decode(data))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in data.items())
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in data)
    return sum(value_size({kind[0]: member}) for member in data)  # SS, NS, BS


def item_size(item: dict[str, Any] | None) -> int:
    return sum(len(name.encode()) + value_size(v) for name, v in (item or {}).items())


def _write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def _read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return float(units) if consistent else units / 2


class _Table:
    """A moto table's keys and indexes, and its items as they are now."""

    def __init__(self, name: str) -> None:
        from moto.dynamodb.models import dynamodb_backends

        self._backend = dynamodb_backends[ACCOUNT][REGION]
        self.table = self._backend.get_table(name)
        self.name = name
        self.keys = [k for k in (self.table.hash_key_attr, self.table.range_key_attr) if k]

    def key_of(self, item: dict[str, Any]) -> dict[str, Any]:
        return {k: item[k] for k in self.keys if k in item}

    def item(self, key: dict[str, Any]) -> dict[str, Any] | None:
        found = self._backend.get_item(self.name, key)
        return dict(found.to_json()["Attributes"]) if found is not None else None

    def index_writes(self, old: dict[str, Any] | None, new: dict[str, Any] | None) -> int:
        units = 0
        for index in self.table.global_indexes:
            index_keys = [k["AttributeName"] for k in index.schema]
            before, after = (self._entry(index, index_keys, i) for i in (old, new))
            if before is not None and after is not None:
                if any(before.get(k) != after.get(k) for k in index_keys):
                    units += _write_units(item_size(before) + INDEX_ENTRY_OVERHEAD)
                    units += _write_units(item_size(after) + INDEX_ENTRY_OVERHEAD)
                elif before != after:
                    units += _write_units(item_size(after) + INDEX_ENTRY_OVERHEAD)
            elif before is not None or after is not None:
                units += _write_units(item_size(before or after) + INDEX_ENTRY_OVERHEAD)
        return units

    def _entry(
        self, index: Any, index_keys: list[str], item: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """What `index` holds of `item`; None when the item is not in it (sparse)."""
        if item is None or any(k not in item for k in index_keys):
            return None
        projection = index.projection or {}
        kind = projection.get("ProjectionType", "ALL")
        if kind == "ALL":
            return dict(item)
        wanted = {*self.keys, *index_keys, *projection.get("NonKeyAttributes", [])}
        return {k: v for k, v in item.items() if k in wanted}


class Meter:
    """Registers on clients; counts only while `armed` (the functions' own calls, not the
    harness's receives and deletes)."""

    def __init__(self) -> None:
        self.usage = Usage()
        self._armed = False
        self._lock = threading.RLock()

    def attach(self, client: Any) -> None:
        events, service = client.meta.events, client.meta.service_model.service_name
        # The stores call the low-level client in DynamoDB's JSON (shared.item_table); a
        # handler that registers a conversion on these events (boto3's resource layer does) runs
        # around the meter: it reads the requests last and the responses first.
        uid = f"meter-{id(self)}"
        events.register_last(f"before-parameter-build.{service}", self._before, unique_id=uid)
        events.register_first(f"after-call.{service}", self._after, unique_id=f"{uid}-after")

    @contextmanager
    def armed(self) -> Iterator[Usage]:
        with self._lock:
            self.usage, self._armed = Usage(), True
        try:
            yield self.usage
        finally:
            self._armed = False

    def _before(
        self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        if not self._armed:
            return
        service = model.service_model.service_name
        with self._lock:
            self.usage.calls[f"{service}.{model.name}"] += 1
            if service == "s3" and model.name == "PutObject":
                self.usage.s3_bytes_stored += _body_size(params.get("Body", b""))
            if service == "dynamodb" and model.name in _WRITES:
                context["bench_writes"] = [
                    (table, key, table.item(key))
                    for table, key in _written_keys(model.name, params)
                ]
        context["bench_armed"] = True
        requests = params.get("RequestItems") or {}
        context["bench_consistent"] = bool(params.get("ConsistentRead")) or any(
            isinstance(r, dict) and r.get("ConsistentRead") for r in requests.values()
        )

    def _after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if not context.get("bench_armed") or model.service_model.service_name != "dynamodb":
            return
        with self._lock:
            if model.name in _WRITES:
                self._count_writes(model.name, parsed, context.get("bench_writes", []))
            else:
                consistent = bool(context.get("bench_consistent"))
                self.usage.read_units += _reads(model.name, parsed, consistent)

    def _count_writes(self, operation: str, parsed: dict[str, Any], writes: list[Any]) -> None:
        refused = "Error" in parsed
        factor = 2 if operation == "TransactWriteItems" else 1
        for table, key, old in writes:
            new = table.item(key)
            if refused:  # a refused condition still reads the item it found, at write price
                self.usage.write_units += factor * _write_units(item_size(old))
                continue
            table_units = _write_units(max(item_size(old), item_size(new)))
            index_units = table.index_writes(old, new)
            self.usage.write_units += factor * (table_units + index_units)
            self.usage.index_write_units += factor * index_units


def _body_size(body: Any) -> int:
    """Bytes of a PutObject body: botocore has already made bytes a file-like object."""
    if isinstance(body, bytes | str):
        return len(body)
    position = body.tell()
    size = int(body.seek(0, 2))
    body.seek(position)
    return size


def _written_keys(operation: str, params: dict[str, Any]) -> list[tuple[_Table, dict[str, Any]]]:
    if operation == "PutItem":
        table = _Table(params["TableName"])
        return [(table, table.key_of(params["Item"]))]
    if operation in ("UpdateItem", "DeleteItem"):
        return [(_Table(params["TableName"]), params["Key"])]
    written: list[tuple[_Table, dict[str, Any]]] = []
    if operation == "BatchWriteItem":
        for name, requests in params["RequestItems"].items():
            table = _Table(name)
            for request in requests:
                if "PutRequest" in request:
                    written.append((table, table.key_of(request["PutRequest"]["Item"])))
                else:
                    written.append((table, request["DeleteRequest"]["Key"]))
        return written
    for entry in params["TransactItems"]:  # TransactWriteItems
        [(kind, action)] = entry.items()
        table = _Table(action["TableName"])
        key = table.key_of(action["Item"]) if kind == "Put" else action["Key"]
        written.append((table, key))
    return written


def _reads(operation: str, parsed: dict[str, Any], consistent: bool) -> float:
    if operation == "GetItem":
        return _read_units(item_size(parsed.get("Item")), consistent) if "Item" in parsed else 0.5
    if operation == "BatchGetItem":
        items = [i for found in parsed.get("Responses", {}).values() for i in found]
        return sum(_read_units(item_size(i), consistent) for i in items)
    if operation in ("Query", "Scan"):
        size = sum(item_size(i) for i in parsed.get("Items", []))
        return _read_units(size, consistent)
    return 0.0
