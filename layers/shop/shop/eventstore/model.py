"""The event envelope: what every stored event carries (spec section 2)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JSON = Mapping[str, Any]


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_timestamp(moment: datetime) -> str:
    """UTC, microseconds, ``Z``: how events (and what policies derive from them) write a moment."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text)


def new_event_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class EventMetadata:
    """Why an event happened: the request or event chain it belongs to, its direct cause (the API
    Gateway request id for a command, the triggering event's id for a policy) and who caused it
    (``actor``: the ``sub`` of the caller's token; a policy carries its triggering event's actor).

    ``request_key`` names the request that asked for it when that request carried an
    ``Idempotency-Key`` (a digest of the key, its route and its caller; "" otherwise): a run of the
    same request again finds its commit by it instead of appending twice."""

    correlation_id: str
    causation_id: str
    actor: str
    request_key: str = ""


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event about to be appended; the store assigns its stream and version."""

    type: str
    data: JSON
    schema_version: int = 1
    event_id: str = field(default_factory=new_event_id)
    occurred_at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as stored: immutable, with its position in its stream."""

    event_id: str
    type: str
    stream_id: str
    version: int
    schema_version: int
    occurred_at: datetime
    data: JSON
    metadata: EventMetadata


def caused_by(event: RecordedEvent) -> EventMetadata:
    """Metadata of what a policy writes because of ``event``: the same correlation and actor, with
    the event as its cause."""
    return EventMetadata(event.metadata.correlation_id, event.event_id, event.metadata.actor)


@dataclass(frozen=True, slots=True)
class StreamWrite:
    """Events for one stream, valid only if the stream is still at ``expected_version``.

    ``expected_version`` is the version the writer read (0 for a new stream). It must be a version
    the stream actually had: the application always passes the version of the state it loaded.
    """

    stream_id: str
    expected_version: int
    events: Sequence[NewEvent]

    @property
    def new_version(self) -> int:
        return self.expected_version + len(self.events)


@dataclass(frozen=True, slots=True)
class StreamCheck:
    """A stream a transaction does not write but whose state its rule depends on: it must still be
    at ``expected_version`` when the transaction commits (a DynamoDB ``ConditionCheck``)."""

    stream_id: str
    expected_version: int
