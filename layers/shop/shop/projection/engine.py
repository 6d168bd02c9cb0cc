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

Streams that share a row are coalesced (``project_together``): the row is read once, steps 2-4 run
for each stream in turn on the row as the streams before it left it, and one conditional update
writes every stream's changes with every checkpoint it advances in its condition, so a writer that
moved any of them since the read makes it fail. A stream whose steps fail (a gap not filled, an
event it cannot apply) is left out of that write, as if projected alone and failed. If the write
itself fails (a lost race, anything but an unreachable table), each of its streams is projected
alone, as above: the outcome of every stream is the one it would have had on its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Protocol

from shop.errors import DependencyUnavailable
from shop.eventstore.model import RecordedEvent
from shop.eventstore.store import EventStore
from shop.views.port import Changes, CheckpointMoved, Move, ReadTable

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

    def project_together(
        self, delivered: Mapping[str, Sequence[RecordedEvent]]
    ) -> dict[str, Exception | None]:
        """Every stream's delivered events (as ``project``), streams that share a row in one read and
        one write; each stream's outcome: ``None`` if projected (or ignored), else its error."""
        outcomes: dict[str, Exception | None] = {}
        for group in self._rows(delivered):
            if len(group) == 1:
                stream_id = group[0][0]
                outcomes[stream_id] = self._alone(stream_id, delivered[stream_id])
            else:
                outcomes.update(self._together(group, delivered))
        for stream_id in delivered:
            outcomes.setdefault(stream_id, None)
        return outcomes

    def row_of(self, stream_id: str) -> tuple[tuple[str, str], ...] | None:
        """The key of the row ``stream_id`` projects to, hashable; ``None`` if the projection ignores it."""
        target = self.projection.target(stream_id)
        return None if target is None else tuple(sorted(target.key.items()))

    def _rows(self, delivered: Mapping[str, Sequence[RecordedEvent]]) -> list[list[tuple[str, Target]]]:
        """The streams with events, grouped by row in first-seen order; a stream whose checkpoint
        another stream of its row already holds (a projection that gives two streams one checkpoint)
        gets a group of its own."""
        groups: dict[Any, list[tuple[str, Target]]] = {}
        for stream_id, events in delivered.items():
            target = self.projection.target(stream_id)
            if target is None or not events:
                continue
            row: Any = tuple(sorted(target.key.items()))
            if any(target.checkpoint == other.checkpoint for _, other in groups.get(row, [])):
                row = (row, stream_id)
            groups.setdefault(row, []).append((stream_id, target))
        return list(groups.values())

    def _alone(self, stream_id: str, delivered: Sequence[RecordedEvent]) -> Exception | None:
        try:
            self.project(stream_id, delivered)
        except Exception as error:  # noqa: BLE001 - an outcome, per stream
            return error
        return None

    def _together(
        self, group: Sequence[tuple[str, Target]], delivered: Mapping[str, Sequence[RecordedEvent]]
    ) -> dict[str, Exception | None]:
        key = group[0][1].key
        outcomes: dict[str, Exception | None] = {}
        try:
            row = self._table.get(key) or {}
        except Exception as error:  # noqa: BLE001 - the read failed every stream of the row
            return dict.fromkeys((stream_id for stream_id, _ in group), error)
        state: dict[str, Any] = {**key, **row}
        changes: dict[str, Any] = {}
        checkpoints: dict[str, Move] = {}
        written: list[str] = []
        for stream_id, target in group:
            try:
                applied, pending = self._pending(stream_id, target, row, delivered[stream_id])
                if pending:
                    state, step = self._fold(state, pending)
            except Exception as error:  # noqa: BLE001 - this stream fails alone and is not written
                outcomes[stream_id] = error
                continue
            outcomes[stream_id] = None
            if pending:
                changes.update(step)
                checkpoints[target.checkpoint] = Move(applied, pending[-1].version)
                written.append(stream_id)
        if not checkpoints:
            return outcomes
        try:
            self._table.update_many(key, changes, checkpoints)
        except DependencyUnavailable as error:  # alone, each would meet the same unreachable table
            outcomes.update(dict.fromkeys(written, error))
        except Exception:  # noqa: BLE001 - a lost race or a refused write: each stream on its own
            for stream_id in written:
                outcomes[stream_id] = self._alone(stream_id, delivered[stream_id])
        return outcomes

    def _project_once(self, stream_id: str, target: Target, delivered: Sequence[RecordedEvent]) -> None:
        row = self._table.get(target.key) or {}
        applied, pending = self._pending(stream_id, target, row, delivered)
        if not pending:
            return
        _, changes = self._fold({**target.key, **row}, pending)
        self._table.update(target.key, changes, target.checkpoint, applied, pending[-1].version)

    def _pending(
        self, stream_id: str, target: Target, row: Row, delivered: Sequence[RecordedEvent]
    ) -> tuple[int, Sequence[RecordedEvent]]:
        """The row's checkpoint for the stream, and the events to apply after it, in order (gaps
        filled from the store); ``GapNotFilled`` if the store cannot fill one."""
        applied = int(row.get(target.checkpoint, 0))
        pending = sorted({e.version: e for e in delivered if e.version > applied}.values(), key=_version)
        if not pending:
            return applied, pending
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
        return applied, pending

    def _fold(
        self, row: Mapping[str, Any], events: Sequence[RecordedEvent]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The row after ``events`` (a new dict: ``row`` is left as it was) and the changes made."""
        state = dict(row)
        changes: dict[str, Any] = {}
        for event in events:
            step = self.projection.apply(state, event)
            changes.update(step)
            for name, value in step.items():
                if value is None:
                    state.pop(name, None)
                else:
                    state[name] = value
        return state, changes


def _version(event: RecordedEvent) -> int:
    return event.version


def _contiguous(events: Sequence[RecordedEvent]) -> bool:
    return all(b.version == a.version + 1 for a, b in pairwise(events))
