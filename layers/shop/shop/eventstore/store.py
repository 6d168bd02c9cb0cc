"""The event-store port. Two implementations: ``InMemoryEventStore`` and ``DynamoDBEventStore``.

Both pass the same contract suite (``tests/contract/test_event_store_contract.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from shop.eventstore.model import EventMetadata, NewEvent, RecordedEvent, StreamCheck, StreamWrite

#: Upper bound of events in one commit; keeps a commit inside one DynamoDB item.
MAX_EVENTS_PER_COMMIT = 100


class ConcurrencyError(Exception):
    """A stream was not at the expected version; nothing was written."""

    def __init__(self, stream_ids: Sequence[str]) -> None:
        super().__init__(f"stale expected version on: {', '.join(stream_ids)}")
        self.stream_ids = tuple(stream_ids)


class EventStore(Protocol):
    def append(
        self, stream_id: str, expected_version: int, events: Sequence[NewEvent], metadata: EventMetadata
    ) -> int:
        """Append ``events`` atomically if the stream is at ``expected_version``; return the new version.

        Raises ``ConcurrencyError`` (and writes nothing) when the stream has moved on.
        """
        ...

    def append_all(
        self, writes: Sequence[StreamWrite], metadata: EventMetadata, *, unchanged: Sequence[StreamCheck] = ()
    ) -> None:
        """Append to several streams in one transaction: all writes happen, or none.

        ``unchanged`` streams are not written but must still be at their expected versions.
        Raises ``ConcurrencyError`` naming the stale streams when any stream has moved on.
        """
        ...

    def load(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
        """Events of the stream with a version above ``after_version``, in version order.

        ``after_version`` must be a version the stream had (a commit boundary), as for appends.
        """
        ...


def check_commit(events: Sequence[NewEvent]) -> None:
    if not events:
        raise ValueError("a commit needs at least one event")
    if len(events) > MAX_EVENTS_PER_COMMIT:
        raise ValueError(f"a commit holds at most {MAX_EVENTS_PER_COMMIT} events")


def check_writes(writes: Sequence[StreamWrite], unchanged: Sequence[StreamCheck] = ()) -> None:
    if not writes:
        raise ValueError("a transaction needs at least one stream write")
    stream_ids = [write.stream_id for write in writes] + [check.stream_id for check in unchanged]
    if len(set(stream_ids)) != len(stream_ids):
        raise ValueError("a transaction writes each stream at most once")
    for write in writes:
        check_commit(write.events)
