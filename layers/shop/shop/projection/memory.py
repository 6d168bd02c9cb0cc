"""In-memory read table with the same conditional-update semantics as the DynamoDB one."""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from typing import Any

from shop.projection.engine import Changes, CheckpointMoved


class InMemoryReadTable:
    def __init__(self) -> None:
        self.rows: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(key: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(key.items()))

    def get(self, key: Mapping[str, str]) -> dict[str, Any] | None:
        with self._lock:
            row = self.rows.get(self._key(key))
            return copy.deepcopy(row) if row is not None else None

    def update(
        self, key: Mapping[str, str], changes: Changes, checkpoint: str, expected: int, new: int
    ) -> None:
        with self._lock:
            row = self.rows.get(self._key(key))
            current = int(row.get(checkpoint, 0)) if row else 0
            if current != expected or (expected == 0 and row is not None and checkpoint in row):
                raise CheckpointMoved(f"{checkpoint} is {current}, expected {expected}")
            updated = dict(row or key)
            for name, value in changes.items():
                if value is None:
                    updated.pop(name, None)
                else:
                    updated[name] = copy.deepcopy(value)
            updated[checkpoint] = new
            self.rows[self._key(key)] = updated
