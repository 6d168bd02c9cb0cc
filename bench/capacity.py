"""Counts DynamoDB requests and the capacity they consume, computed by DynamoDB's own sizing rules.

moto reports constant ``ConsumedCapacity`` values, so the units here are computed from the items
actually written and read: item size = attribute names + values (strings UTF-8 bytes, numbers
~1 byte per 2 significant digits + 1, maps/lists 3 bytes + 1 per element), then 1 WCU per 1 KB
written (x2 in a transaction, where a condition check costs a write too), 1 RCU per 4 KB read
strongly consistent (0.5 if eventually).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


def attribute_size(value: Mapping[str, Any]) -> int:
    ((kind, data),) = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        digits = str(data).lstrip("-").replace(".", "").strip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in data)
    if kind == "NS":
        return sum(attribute_size({"N": n}) for n in data)
    if kind == "L":
        return 3 + sum(attribute_size(v) + 1 for v in data)
    if kind == "M":
        return 3 + sum(len(k.encode()) + attribute_size(v) + 1 for k, v in data.items())
    raise ValueError(kind)


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def read_units(total_bytes: int, *, consistent: bool) -> float:
    units = max(1, math.ceil(total_bytes / 4096))
    return float(units) if consistent else units / 2


def write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


@dataclass
class Call:
    operation: str
    wcu: float = 0.0
    rcu: float = 0.0
    item_bytes: list[int] = field(default_factory=list)


@dataclass
class Recorder:
    calls: list[Call] = field(default_factory=list)

    def clear(self) -> None:
        self.calls.clear()

    def requests(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for call in self.calls:
            counts[call.operation] = counts.get(call.operation, 0) + 1
        return counts

    @property
    def writes(self) -> int:
        return sum(1 for c in self.calls if c.operation in WRITES)

    @property
    def reads(self) -> int:
        return len(self.calls) - self.writes

    @property
    def wcu(self) -> float:
        return sum(c.wcu for c in self.calls)

    @property
    def rcu(self) -> float:
        return sum(c.rcu for c in self.calls)

    @property
    def largest_item(self) -> int:
        return max((b for c in self.calls for b in c.item_bytes), default=0)


class RecordingClient:
    """Wraps a low-level DynamoDB client; ``read_back`` fetches an item after an update (uncounted)."""

    def __init__(self, client: Any, recorder: Recorder, read_back: Callable[[str, Any], Any]) -> None:
        self._client = client
        self._recorder = recorder
        self._read_back = read_back

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute) or name.startswith(("get_paginator", "get_waiter", "can_", "close")):
            return attribute

        def call(**kwargs: Any) -> Any:
            response = attribute(**kwargs)
            operation = self._client.meta.method_to_api_mapping.get(name, name)
            self._recorder.calls.append(self._cost(operation, kwargs, response))
            return response

        return call

    def _cost(self, operation: str, request: Mapping[str, Any], response: Mapping[str, Any]) -> Call:
        consistent = bool(request.get("ConsistentRead"))
        if operation == "PutItem":
            size = item_size(request["Item"])
            return Call(operation, wcu=write_units(size), item_bytes=[size])
        if operation == "TransactWriteItems":
            actions = request["TransactItems"]
            sizes = [item_size(action["Put"]["Item"]) for action in actions if "Put" in action]
            checks = sum(1 for action in actions if "ConditionCheck" in action)
            # Transactions cost double; a condition check (on an absent next-version key) is a write too.
            wcu = sum(2 * write_units(s) for s in sizes) + 2 * checks
            return Call(operation, wcu=wcu, item_bytes=sizes)
        if operation == "UpdateItem":
            after = self._read_back(request["TableName"], request["Key"]) or {}
            size = item_size(after)
            return Call(operation, wcu=write_units(size), item_bytes=[size])
        if operation == "GetItem":
            size = item_size(response.get("Item") or {})
            return Call(operation, rcu=read_units(size, consistent=consistent), item_bytes=[size])
        if operation == "Query":
            sizes = [item_size(item) for item in response.get("Items", [])]
            return Call(operation, rcu=read_units(sum(sizes), consistent=consistent), item_bytes=sizes)
        return Call(operation)


# ---------------------------------------------------------------- the whole rule set, indexes included
#
# ``bench.cost`` records every request a function makes, with the items it touched as they were before
# and after (read back, uncounted), and prices it with the functions below. Sources: DynamoDB
# Developer Guide, "Read/write capacity mode" (item sizes, 4 KB reads, 1 KB writes, transactions x2,
# UpdateItem/PutItem: the larger of the item before and after), "Condition expressions" (a write whose
# condition fails still consumes write units for the existing item, at least 1) and "Global secondary
# indexes: provisioned throughput considerations" (index writes:
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.ThroughputConsiderations.Writes).

Item = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Index:
    """A global secondary index as the template declares it."""

    name: str
    keys: tuple[str, ...]
    projection: str = "ALL"  # ALL, KEYS_ONLY or INCLUDE
    included: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSchema:
    name: str
    keys: tuple[str, ...]
    indexes: tuple[Index, ...] = ()

    @classmethod
    def from_template(cls, name: str, properties: Mapping[str, Any]) -> TableSchema:
        """``properties``: an ``AWS::DynamoDB::Table``'s, as in template.yaml."""
        indexes = tuple(
            Index(
                index["IndexName"],
                tuple(k["AttributeName"] for k in index["KeySchema"]),
                index.get("Projection", {}).get("ProjectionType", "KEYS_ONLY"),
                tuple(index.get("Projection", {}).get("NonKeyAttributes", ())),
            )
            for index in properties.get("GlobalSecondaryIndexes", ())
        )
        return cls(name, tuple(k["AttributeName"] for k in properties["KeySchema"]), indexes)

    def key_of(self, item: Item) -> dict[str, Any]:
        return {name: item[name] for name in self.keys}


def projected(item: Item | None, table: TableSchema, index: Index) -> Item | None:
    """The index entry of ``item``, or None if the item is not in the (sparse) index."""
    if item is None or not all(key in item for key in index.keys):
        return None
    if index.projection == "ALL":
        return item
    kept = {*table.keys, *index.keys, *(index.included if index.projection == "INCLUDE" else ())}
    return {name: value for name, value in item.items() if name in kept}


def index_writes(before: Item | None, after: Item | None, table: TableSchema, index: Index) -> list[int]:
    """Sizes of the index writes a table write makes (each costs ``write_units`` of its size).

    Absent before and after: none. Put into the index (an indexed attribute now defined) or deleted
    from it (one removed): one. An index key attribute changed: two, a delete and a put. Only
    projected attributes changed: one. Nothing the index holds changed: none.
    """
    old, new = projected(before, table, index), projected(after, table, index)
    if old is None and new is None:
        return []
    if old is None:
        return [item_size(new or {})]
    if new is None:
        return [item_size(old)]
    if any(old[key] != new[key] for key in index.keys):
        return [item_size(old), item_size(new)]
    return [item_size(new)] if dict(old) != dict(new) else []


@dataclass(frozen=True)
class ItemWrite:
    """One item a request wrote (or tried to): ``kind`` is put, update, delete or check."""

    table: TableSchema
    kind: str
    before: Item | None
    after: Item | None
    failed: bool = False
    transactional: bool = False


def table_write_units(write: ItemWrite) -> int:
    """Write units on the table: the larger of the item before and after (a delete, a condition
    check or a failed condition: the existing item, at least 1); doubled in a transaction."""
    if write.failed or write.kind in ("delete", "check"):
        size = item_size(write.before or {})
    else:
        size = max(item_size(write.before or {}), item_size(write.after or {}))
    return write_units(size) * (2 if write.transactional else 1)


def index_write_units(write: ItemWrite) -> dict[str, int]:
    """Write units on each index the write changed (none for a failed write or a check)."""
    if write.failed or write.kind == "check":
        return {}
    units = {
        index.name: sum(
            write_units(size) for size in index_writes(write.before, write.after, write.table, index)
        )
        for index in write.table.indexes
    }
    return {name: value for name, value in units.items() if value}


def query_read_units(items: list[Item], *, consistent: bool) -> float:
    """``Query``/``Scan``: the items read add up, then round up to 4 KB (an empty answer: 1 unit)."""
    return read_units(sum(item_size(item) for item in items), consistent=consistent)
