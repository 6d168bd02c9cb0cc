"""The event store: the port (``store``), the envelope (``model``), and two implementations
(``memory`` for domain and property tests, ``dynamodb`` for Lambda) held to one contract suite,
and ``upcasting``: older event versions read as the current one."""

from shop.eventstore.model import (
    EventMetadata,
    NewEvent,
    RecordedEvent,
    StreamCheck,
    StreamWrite,
    format_timestamp,
    parse_timestamp,
)
from shop.eventstore.store import ConcurrencyError, EventStore
from shop.eventstore.upcasting import AS_STORED, Upcaster, upcast_event

__all__ = [
    "AS_STORED",
    "ConcurrencyError",
    "EventMetadata",
    "EventStore",
    "NewEvent",
    "RecordedEvent",
    "StreamCheck",
    "StreamWrite",
    "Upcaster",
    "format_timestamp",
    "parse_timestamp",
    "upcast_event",
]
