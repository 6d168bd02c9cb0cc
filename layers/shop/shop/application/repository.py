"""Loads aggregates from their event streams and saves what they recorded.

With ``Snapshotting``, an aggregate that can be snapshotted (``Aggregate.snapshot_schema``) is
loaded from its latest snapshot and the events after it, and a save that carries its stream across
a multiple of ``every`` events writes a new snapshot. Neither changes what a load returns: a
snapshot that is missing, unreadable, of another schema or of another history is ignored and the
whole stream is read, and a snapshot that cannot be written is left for the next boundary.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from weakref import WeakKeyDictionary

from shop.domain.aggregate import Aggregate, UnreadableState
from shop.domain.events import DomainEvent, EventRegistry
from shop.eventstore.model import EventMetadata, NewEvent, RecordedEvent, StreamCheck, StreamWrite, utc_now
from shop.eventstore.snapshots import RequestCommit, Snapshot, SnapshotStore
from shop.eventstore.store import EventStore

log = logging.getLogger(__name__)

#: How long an ``Idempotency-Key`` names its request: a commit made with the key answers a run of the
#: same request this long (``load_with_request``); afterwards the key is free and names a new request.
#: The HTTP edge keeps its records (first answers) exactly as long.
REQUEST_KEY_LIFETIME = timedelta(hours=24)
#: Events between two snapshots of a stream unless the settings say otherwise (``SNAPSHOT_EVERY``).
DEFAULT_SNAPSHOT_EVERY = 50
#: How long a snapshot keeps the request keys of the keyed commits behind it: the key's lifetime,
#: plus an hour for clocks.
REQUEST_KEY_WINDOW = REQUEST_KEY_LIFETIME + timedelta(hours=1)

Requests = dict[str, RequestCommit]


@dataclass(frozen=True, slots=True)
class Snapshotting:
    """Where snapshots are kept and how often they are taken: whenever a save carries a stream
    across a multiple of ``every`` events."""

    store: SnapshotStore
    every: int = DEFAULT_SNAPSHOT_EVERY
    request_key_window: timedelta = REQUEST_KEY_WINDOW

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError("a snapshot is taken every 1 or more events")


class Repository:
    """Event-sourced repository for one service's event store."""

    def __init__(
        self,
        store: EventStore,
        registry: EventRegistry,
        clock: Callable[[], datetime] = utc_now,
        *,
        snapshots: Snapshotting | None = None,
    ) -> None:
        self._store = store
        self._registry = registry
        self._clock = clock
        self._snapshots = snapshots
        # The keyed commits of each loaded aggregate's stream, which its next snapshot carries on.
        self._requests: WeakKeyDictionary[Aggregate, Requests] = WeakKeyDictionary()
        self._requests_lock = threading.Lock()

    def load[A: Aggregate](self, cls: type[A], aggregate_id: str) -> A:
        return self.load_with_request(cls, aggregate_id, None)[0]

    def load_with_request[A: Aggregate](
        self, cls: type[A], aggregate_id: str, request_key: str | None
    ) -> tuple[A, int | None]:
        """The aggregate, and the version its stream reached with the commit ``request_key`` made
        within the key's lifetime (None: no such commit, or no key), from the same single load.

        A commit older than ``REQUEST_KEY_LIFETIME`` was made by an earlier use of the key, which the
        client may reuse by then: it does not answer for the request now. A commit behind the
        aggregate's snapshot is found in the snapshot's request keys, which cover the request-key
        window (``REQUEST_KEY_WINDOW``) before the snapshot was taken.
        """
        aggregate, requests = self._from_snapshot(cls, aggregate_id) or self._from_start(cls, aggregate_id)
        with self._requests_lock:
            self._requests[aggregate] = requests
        made = requests.get(request_key) if request_key else None
        if made is None or made.committed_at <= self._clock() - REQUEST_KEY_LIFETIME:
            return aggregate, None
        return aggregate, made.version

    def save(
        self, *aggregates: Aggregate, metadata: EventMetadata, unchanged: Sequence[Aggregate] = ()
    ) -> None:
        """Append every aggregate's pending events, atomically (the store decides how).

        ``unchanged`` aggregates were read to decide and must not have moved when the events are
        written (their streams become condition checks of the same transaction).
        Raises ``ConcurrencyError`` if any of the streams moved since it was loaded.
        """
        now = self._clock()
        changed = [a for a in aggregates if a.pending_events]
        writes = [self._write_for(a, now) for a in changed]
        if not writes:
            return
        checks = [StreamCheck(a.stream_id, a.version) for a in unchanged]
        self._store.append_all(writes, metadata, unchanged=checks)  # the store picks put or transaction
        for aggregate, write in zip(changed, writes, strict=True):
            aggregate.mark_committed(write.new_version)
            self._after_commit(aggregate, write, metadata.request_key, now)

    # ------------------------------------------------------------------ loading
    def _decode(self, recorded: Sequence[RecordedEvent]) -> list[DomainEvent]:
        return [self._registry.decode(event.type, event.data) for event in recorded]

    def _from_start[A: Aggregate](self, cls: type[A], aggregate_id: str) -> tuple[A, Requests]:
        recorded = self._store.load(cls.stream_id_for(aggregate_id))
        history = self._decode(recorded)
        aggregate = cls.rehydrate(aggregate_id, history, recorded[-1].version if recorded else 0)
        return aggregate, _with_requests_of(recorded, {})

    def _from_snapshot[A: Aggregate](self, cls: type[A], aggregate_id: str) -> tuple[A, Requests] | None:
        """The aggregate from its snapshot and the events after it; None if there is no snapshot
        to trust (the caller then reads the whole stream)."""
        if self._snapshots is None or cls.snapshot_schema is None:
            return None
        stream_id = cls.stream_id_for(aggregate_id)
        try:
            snapshot = self._snapshots.store.get(stream_id)
        except Exception as error:  # noqa: BLE001 - a snapshot only saves reads; without it, read them all
            log.warning("snapshot of %s not read, loading the whole stream: %r", stream_id, error)
            return None
        if snapshot is None:
            return None
        if snapshot.schema_version != cls.snapshot_schema:
            log.info(
                "snapshot of %s has schema %d, not %d: ignored",
                stream_id,
                snapshot.schema_version,
                cls.snapshot_schema,
            )
            return None
        if snapshot.stream_id != stream_id or not 1 <= snapshot.commit_version <= snapshot.version:
            log.warning("snapshot of %s does not describe it: ignored", stream_id)
            return None
        try:
            aggregate = cls.from_snapshot(aggregate_id, snapshot.state, snapshot.version)
        except UnreadableState as error:
            log.warning("snapshot of %s is unreadable, ignored: %s", stream_id, error)
            return None
        # From the commit the snapshot ends with: it must be there, ending with the same event.
        recorded = self._store.load(stream_id, snapshot.commit_version - 1)
        last_commit = [e for e in recorded if e.version <= snapshot.version]
        if not _is_commit(last_commit, snapshot):
            log.warning("snapshot of %s at %d is of another history: ignored", stream_id, snapshot.version)
            return None
        later = recorded[len(last_commit) :]
        aggregate.catch_up(self._decode(later), recorded[-1].version)
        return aggregate, _with_requests_of(later, dict(snapshot.requests))

    # ------------------------------------------------------------------ saving
    def _write_for(self, aggregate: Aggregate, now: datetime) -> StreamWrite:
        events = [
            NewEvent(type=e.type_name(), data=e.to_data(), schema_version=e.schema_version, occurred_at=now)
            for e in aggregate.pending_events
        ]
        return StreamWrite(aggregate.stream_id, aggregate.version, events)

    def _after_commit(
        self, aggregate: Aggregate, write: StreamWrite, request_key: str, now: datetime
    ) -> None:
        """Carry the stream's keyed commits forward and, at a boundary, write a snapshot. Best effort:
        a snapshot that is not written costs later loads some reads, never this command its answer."""
        if self._snapshots is None or aggregate.snapshot_schema is None:
            return
        with self._requests_lock:
            known = self._requests.get(aggregate)
        if known is None and write.expected_version != 0:
            return  # a history this repository did not load: the keyed commits behind it are unknown
        horizon = now - self._snapshots.request_key_window
        requests = {key: commit for key, commit in (known or {}).items() if commit.committed_at >= horizon}
        if request_key:
            requests[request_key] = RequestCommit(write.new_version, now)
        with self._requests_lock:
            self._requests[aggregate] = requests
        every = self._snapshots.every
        if write.expected_version // every == write.new_version // every:
            return
        try:
            self._snapshots.store.put(
                Snapshot(
                    stream_id=aggregate.stream_id,
                    version=write.new_version,
                    commit_version=write.expected_version + 1,
                    last_event_id=write.events[-1].event_id,
                    schema_version=aggregate.snapshot_schema,
                    state=aggregate.snapshot_state(),
                    taken_at=now,
                    requests=requests,
                )
            )
        except Exception as error:  # noqa: BLE001 - the command succeeded; the snapshot can wait
            log.warning("snapshot of %s at %d not written: %r", aggregate.stream_id, write.new_version, error)


def _is_commit(events: Sequence[RecordedEvent], snapshot: Snapshot) -> bool:
    """``events`` are the commit ``snapshot`` ends with: from its first version to its last event."""
    return (
        bool(events)
        and events[0].version == snapshot.commit_version
        and events[-1].version == snapshot.version
        and events[-1].event_id == snapshot.last_event_id
    )


def _with_requests_of(recorded: Sequence[RecordedEvent], requests: Requests) -> Requests:
    """``requests`` plus the keyed commits among ``recorded`` (a key's latest commit wins)."""
    for event in recorded:
        if event.metadata.request_key:
            requests[event.metadata.request_key] = RequestCommit(event.version, event.occurred_at)
    return requests
