"""Loads aggregates from their event streams and saves what they recorded."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from shop.domain.aggregate import Aggregate
from shop.domain.events import EventRegistry
from shop.eventstore.model import EventMetadata, NewEvent, StreamCheck, StreamWrite, utc_now
from shop.eventstore.store import EventStore

#: How long an ``Idempotency-Key`` names its request: a commit made with the key answers a run of the
#: same request this long (``load_with_request``); afterwards the key is free and names a new request.
#: The HTTP edge keeps its records (first answers) exactly as long.
REQUEST_KEY_LIFETIME = timedelta(hours=24)


class Repository:
    """Event-sourced repository for one service's event store."""

    def __init__(
        self, store: EventStore, registry: EventRegistry, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self._store = store
        self._registry = registry
        self._clock = clock

    def load[A: Aggregate](self, cls: type[A], aggregate_id: str) -> A:
        return self.load_with_request(cls, aggregate_id, None)[0]

    def load_with_request[A: Aggregate](
        self, cls: type[A], aggregate_id: str, request_key: str | None
    ) -> tuple[A, int | None]:
        """The aggregate, and the version its stream reached with the commit ``request_key`` made
        within the key's lifetime (None: no such commit, or no key), from the same single load.

        A commit older than ``REQUEST_KEY_LIFETIME`` was made by an earlier use of the key, which the
        client may reuse by then: it does not answer for the request now."""
        recorded = self._store.load(cls.stream_id_for(aggregate_id))
        history = [self._registry.decode(event.type, event.data) for event in recorded]
        aggregate = cls.rehydrate(aggregate_id, history, recorded[-1].version if recorded else 0)
        if not request_key:
            return aggregate, None
        since = self._clock() - REQUEST_KEY_LIFETIME
        made = [
            e.version for e in recorded if e.metadata.request_key == request_key and e.occurred_at > since
        ]
        return aggregate, max(made, default=None)

    def save(
        self, *aggregates: Aggregate, metadata: EventMetadata, unchanged: Sequence[Aggregate] = ()
    ) -> None:
        """Append every aggregate's pending events, atomically (the store decides how).

        ``unchanged`` aggregates were read to decide and must not have moved when the events are
        written (their streams become condition checks of the same transaction).
        Raises ``ConcurrencyError`` if any of the streams moved since it was loaded.
        """
        writes = [self._write_for(a) for a in aggregates if a.pending_events]
        if not writes:
            return
        checks = [StreamCheck(a.stream_id, a.version) for a in unchanged]
        self._store.append_all(writes, metadata, unchanged=checks)  # the store picks put or transaction
        for aggregate in aggregates:
            if aggregate.pending_events:
                aggregate.mark_committed(aggregate.version + len(aggregate.pending_events))

    def _write_for(self, aggregate: Aggregate) -> StreamWrite:
        now = self._clock()
        events = [
            NewEvent(type=e.type_name(), data=e.to_data(), schema_version=e.schema_version, occurred_at=now)
            for e in aggregate.pending_events
        ]
        return StreamWrite(aggregate.stream_id, aggregate.version, events)
