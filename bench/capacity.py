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
