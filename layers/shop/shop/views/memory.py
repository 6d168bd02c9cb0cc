"""In-memory view with the same reads, pages and conditional updates as the DynamoDB one."""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from shop.views.port import Changes, CheckpointMoved, Checkpoints, Move, Page, Row, View

RowKey = tuple[tuple[str, str], ...]


class InMemoryView(View):
    """``indexes`` maps an index name to its (partition attribute, sort attribute), as in the template."""

    def __init__(self, indexes: Mapping[str, tuple[str, str]] | None = None) -> None:
        self.rows: dict[RowKey, Row] = {}
        self._indexes = dict(indexes or {})
        self._lock = threading.Lock()

    @staticmethod
    def _key(key: Mapping[str, str]) -> RowKey:
        return tuple(sorted(key.items()))

    def get(self, key: Mapping[str, str]) -> Row | None:
        with self._lock:
            row = self.rows.get(self._key(key))
            return copy.deepcopy(row) if row is not None else None

    def page(
        self,
        *,
        index: str,
        partition: tuple[str, str],
        key_attributes: Sequence[str],
        limit: int,
        start: Mapping[str, Any] | None = None,
        newest_first: bool = False,
    ) -> Page:
        start = self.checked_start(start, partition, key_attributes)
        partition_attribute, value = partition
        _, sort_attribute = self._indexes[index]
        with self._lock:
            members = [
                copy.deepcopy(row)
                for row in self.rows.values()
                if row.get(partition_attribute) == value and sort_attribute in row
            ]
        members.sort(key=lambda row: str(row[sort_attribute]), reverse=newest_first)
        if start is not None:
            position = str(start[sort_attribute])
            members = [
                row for row in members if _beyond(str(row[sort_attribute]), position, descending=newest_first)
            ]
        if len(members) <= limit:
            return Page(members, None)
        last = members[limit - 1]
        return Page(members[:limit], {attribute: last[attribute] for attribute in key_attributes})

    def update(
        self, key: Mapping[str, str], changes: Changes, checkpoint: str, expected: int, new: int
    ) -> None:
        self.update_many(key, changes, {checkpoint: Move(expected, new)})

    def update_many(self, key: Mapping[str, str], changes: Changes, checkpoints: Checkpoints) -> None:
        with self._lock:
            row = self.rows.get(self._key(key))
            for checkpoint, move in checkpoints.items():
                current = int(row.get(checkpoint, 0)) if row else 0
                if current != move.expected or (move.expected == 0 and row is not None and checkpoint in row):
                    raise CheckpointMoved(f"{checkpoint} is {current}, expected {move.expected}")
            updated = dict(row or key)
            for name, value in changes.items():
                if value is None:
                    updated.pop(name, None)
                else:
                    updated[name] = copy.deepcopy(value)
            for checkpoint, move in checkpoints.items():
                updated[checkpoint] = move.new
            self.rows[self._key(key)] = updated


def _beyond(value: str, position: str, *, descending: bool) -> bool:
    return value < position if descending else value > position
