"""Upcasting on read: stored events of an older schema version reach readers as the current version.

The event store knows nothing of event classes; an ``Upcaster`` is handed in by the wiring (each
service's ``EventRegistry`` is one) and applied wherever stored events are decoded:

* ``decode_commit`` (a commit item of the event store, or the ``NewImage`` of its stream record),
  so ``DynamoDBEventStore.load`` (aggregates, projection gap fills) and the stream consumers
  (``shop.streams``: projectors and policies) all get current events;
* ``InMemoryEventStore.load``, the same for the in-memory twin.

An event the upcaster cannot read (unknown type, a version newer than the code's) raises
``shop.errors.UnreadableEvent``: it is never passed on as if it were a version the reader knows.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

from shop.eventstore.model import JSON, RecordedEvent


class Upcaster(Protocol):
    def upcast(self, type_name: str, schema_version: int, data: JSON) -> tuple[int, JSON]:
        """``(current version, payload)`` for a stored event; raises ``UnreadableEvent``."""
        ...


class _AsStored:
    """Reads events exactly as stored: for tools that show history as it is (and tests)."""

    def upcast(self, type_name: str, schema_version: int, data: JSON) -> tuple[int, JSON]:
        del type_name
        return schema_version, data


#: The upcaster that changes nothing.
AS_STORED: Upcaster = _AsStored()


def upcast_event(event: RecordedEvent, upcaster: Upcaster) -> RecordedEvent:
    """``event`` at the current schema version of its type (itself if it already is)."""
    version, data = upcaster.upcast(event.type, event.schema_version, event.data)
    if version == event.schema_version and data is event.data:
        return event
    return dataclasses.replace(event, schema_version=version, data=data)


__all__ = ["AS_STORED", "Upcaster", "upcast_event"]
