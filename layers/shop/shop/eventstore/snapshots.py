"""The snapshot port: an aggregate's state at a version of its stream, kept beside the stream.

A snapshot is never an event. It lives in a store of its own (``DynamoDBSnapshotStore``: a table
per service with no stream), so nothing that reads an event store or its stream (projectors,
policies, a rebuild, the replay checker) can ever see one. It is a cache: losing one, or every one,
costs reads and changes nothing, and a snapshot that does not fit the stream is not trusted
(``shop.application.repository``). Both implementations pass one contract suite
(``tests/contract/test_snapshot_store_contract.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from shop.eventstore.model import JSON


class UnreadableSnapshot(ValueError):
    """A stored snapshot that cannot be decoded (corrupt, or written by something else)."""


@dataclass(frozen=True, slots=True)
class RequestCommit:
    """A commit made by a request sent with an ``Idempotency-Key``: the stream's version after it,
    and when it was made (its events' ``occurredAt``)."""

    version: int
    committed_at: datetime


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The state of one stream's aggregate after ``version``.

    ``commit_version`` (the first version of the commit that reached ``version``) and
    ``last_event_id`` (the id of the event at ``version``) tie it to one history: a stream without
    that commit, or with another event there (a table restored to an earlier point, a store reset
    under a snapshot that outlived it), is another history, and the snapshot is ignored.
    ``schema_version`` is the aggregate's ``snapshot_schema`` when it was taken.
    ``requests``: every commit of a keyed request up to ``version`` made in the request-key window
    before ``taken_at``, by request key, so a retry still finds its commit behind the snapshot.
    """

    stream_id: str
    version: int
    commit_version: int
    last_event_id: str
    schema_version: int
    state: JSON
    taken_at: datetime
    requests: Mapping[str, RequestCommit] = field(default_factory=dict)


class SnapshotStore(Protocol):
    def get(self, stream_id: str) -> Snapshot | None:
        """The stream's latest snapshot, or None.

        May lag behind the latest ``put`` (an eventually consistent read): any snapshot it returns
        was true of the stream at its version. Raises ``UnreadableSnapshot`` if the stored one
        cannot be decoded.
        """
        ...

    def put(self, snapshot: Snapshot) -> None:
        """Keep ``snapshot`` as the stream's latest, unless it already has one at this version or
        later (two writers racing never move a stream's snapshot backwards)."""
        ...


class InMemorySnapshotStore:
    """The reference behaviour, for domain, application and property tests."""

    def __init__(self) -> None:
        self._snapshots: dict[str, Snapshot] = {}
        self._lock = threading.Lock()

    def get(self, stream_id: str) -> Snapshot | None:
        with self._lock:
            return self._snapshots.get(stream_id)

    def put(self, snapshot: Snapshot) -> None:
        with self._lock:
            current = self._snapshots.get(snapshot.stream_id)
            if current is None or current.version < snapshot.version:
                self._snapshots[snapshot.stream_id] = snapshot

    @property
    def snapshots(self) -> dict[str, Snapshot]:
        """Every stream's latest snapshot (a copy), for tests."""
        with self._lock:
            return dict(self._snapshots)
