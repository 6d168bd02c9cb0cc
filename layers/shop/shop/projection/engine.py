"""Applies a source stream's events to its read row exactly once, in version order.

Delivery from DynamoDB Streams is at least once and ordered only per item (per commit here), so a
batch may repeat commits, miss earlier ones, or hold them out of order. For each source stream the
engine therefore:

1. reads the row and the version it has applied from that stream (its *checkpoint*);
2. drops events at or below the checkpoint (duplicates);
3. if the next event is not ``checkpoint + 1``, reads the missing events from the event store (gap);
4. folds the events into attribute changes, and writes them with the new checkpoint in one
   conditional update that succeeds only if the checkpoint is still the one read in step 1.

A lost race (another invocation advanced the checkpoint) re-runs the steps; the row never applies
a version twice and never skips one. Each source stream owns its own attributes of a row, so two
streams may share a row (a product and its stock) without overwriting each other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Protocol

from shop.eventstore.model import RecordedEvent
from shop.eventstore.store import EventStore
from shop.views.port import Changes, CheckpointMoved, ReadTable

Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Target:
    """Where a source stream projects to: a row key, and the attribute holding its checkpoint."""

    key: Mapping[str, str]
    checkpoint: str


class Projection(Protocol):
    """Pure mapping from events to read-row changes; knows nothing about storage or delivery."""

    name: str

    def target(self, stream_id: str) -> Target | None:
        """The row a stream projects to, or ``None`` if this projection ignores the stream."""
        ...

    def apply(self, row: Row, event: RecordedEvent) -> Changes:
        """Attribute changes for ``event`` given the row as it stands; ``None`` removes an attribute."""
        ...


class GapNotFilled(Exception):
    """The event store did not hold the events missing before a delivered version."""


class ProjectionEngine:
    def __init__(
        self, projection: Projection, table: ReadTable, store: EventStore, *, max_attempts: int = 5
    ) -> None:
        self.projection = projection
        self._table = table
        self._store = store
        self._max_attempts = max_attempts

    def project(self, stream_id: str, delivered: Sequence[RecordedEvent]) -> None:
        """Bring the stream's row up to at least the highest delivered version."""
        target = self.projection.target(stream_id)
        if target is None or not delivered:
            return
        for _ in range(self._max_attempts):
            try:
                self._project_once(stream_id, target, delivered)
            except CheckpointMoved:
                continue
            return
        raise CheckpointMoved(f"{self.projection.name}: {stream_id} kept moving under concurrent writers")

    def _project_once(self, stream_id: str, target: Target, delivered: Sequence[RecordedEvent]) -> None:
        row = self._table.get(target.key) or {}
        applied = int(row.get(target.checkpoint, 0))
        pending = sorted({e.version: e for e in delivered if e.version > applied}.values(), key=_version)
        if not pending:
            return
        if pending[0].version != applied + 1 or not _contiguous(pending):
            pending = self._store.load(stream_id, after_version=applied)
            newest = max(e.version for e in delivered)
            if (
                not pending
                or pending[0].version != applied + 1
                or pending[-1].version < newest
                or not _contiguous(pending)  # a hole inside the store's answer: never skipped
            ):
                raise GapNotFilled(f"{stream_id}: events after version {applied} missing from the store")
        state = {**target.key, **row}
        changes: dict[str, Any] = {}
        for event in pending:
            step = self.projection.apply(state, event)
            changes.update(step)
            for name, value in step.items():
                if value is None:
                    state.pop(name, None)
                else:
                    state[name] = value
        self._table.update(target.key, changes, target.checkpoint, applied, pending[-1].version)


def _version(event: RecordedEvent) -> int:
    return event.version


def _contiguous(events: Sequence[RecordedEvent]) -> bool:
    return all(b.version == a.version + 1 for a, b in pairwise(events))
