"""In-memory event store: the reference behaviour, used by domain and property tests."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from shop.eventstore.model import EventMetadata, NewEvent, RecordedEvent, StreamCheck, StreamWrite
from shop.eventstore.store import ConcurrencyError, check_commit, check_writes
from shop.eventstore.upcasting import AS_STORED, Upcaster, upcast_event


class InMemoryEventStore:
    """Loads upcast through ``upcaster``, as ``DynamoDBEventStore`` does; ``commits`` stay as stored."""

    def __init__(self, *, upcaster: Upcaster = AS_STORED) -> None:
        self._upcaster = upcaster
        self._streams: dict[str, list[RecordedEvent]] = {}
        self._lock = threading.Lock()
        #: Every commit in append order, as (stream id, events); lets tests replay "the stream".
        self.commits: list[tuple[str, tuple[RecordedEvent, ...]]] = []

    def append(
        self, stream_id: str, expected_version: int, events: Sequence[NewEvent], metadata: EventMetadata
    ) -> int:
        write = StreamWrite(stream_id, expected_version, events)
        self.append_all([write], metadata)
        return write.new_version

    def append_all(
        self, writes: Sequence[StreamWrite], metadata: EventMetadata, *, unchanged: Sequence[StreamCheck] = ()
    ) -> None:
        check_writes(writes, unchanged)
        with self._lock:
            expected = [(w.stream_id, w.expected_version) for w in writes]
            expected += [(c.stream_id, c.expected_version) for c in unchanged]
            stale = [stream for stream, version in expected if self._version(stream) != version]
            if stale:
                raise ConcurrencyError(stale)
            for write in writes:
                recorded = tuple(
                    RecordedEvent(
                        event_id=event.event_id,
                        type=event.type,
                        stream_id=write.stream_id,
                        version=write.expected_version + offset,
                        schema_version=event.schema_version,
                        occurred_at=event.occurred_at,
                        data=event.data,
                        metadata=metadata,
                    )
                    for offset, event in enumerate(write.events, start=1)
                )
                self._streams.setdefault(write.stream_id, []).extend(recorded)
                self.commits.append((write.stream_id, recorded))

    def load(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
        with self._lock:
            stored = [e for e in self._streams.get(stream_id, []) if e.version > after_version]
        return [upcast_event(event, self._upcaster) for event in stored]

    def _version(self, stream_id: str) -> int:
        events = self._streams.get(stream_id)
        return events[-1].version if events else 0


__all__ = ["InMemoryEventStore", "check_commit"]
