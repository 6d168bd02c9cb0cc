"""The event store: the port (``store``), the envelope (``model``), and two implementations
(``memory`` for domain and property tests, ``dynamodb`` for Lambda) held to one contract suite."""

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

__all__ = [
    "ConcurrencyError",
    "EventMetadata",
    "EventStore",
    "NewEvent",
    "RecordedEvent",
    "StreamCheck",
    "StreamWrite",
    "format_timestamp",
    "parse_timestamp",
]
