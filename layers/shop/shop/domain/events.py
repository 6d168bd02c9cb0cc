"""Domain events: immutable pydantic models, serialised in camelCase, named in the past tense.

Every event class states the ``schema_version`` of its payload. When a payload's shape changes, the
class's version goes up by one and its service's registry gets an *upcaster* from the previous
version: a pure function from a stored payload of version N to the payload of version N + 1. Readers
never see an older version: stored events are upcast on read, step by step, to the current one
(``EventRegistry.upcast``; how the event store and the stream consumers apply it:
``shop.eventstore.upcasting``). How to change an event: ``docs/upcasting.md``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from shop.errors import UnreadableEvent


class DomainEvent(BaseModel):
    """Payload of an event. The class name is the stored event type."""

    #: ``defer_build``: a function imports every event of the services it reads or writes but meets
    #: a few; each is built when first used (tests/unit/test_models_build.py builds them all).
    model_config = ConfigDict(
        frozen=True, alias_generator=to_camel, populate_by_name=True, extra="forbid", defer_build=True
    )

    #: Bumped when the payload's shape changes; older versions are upcast on read.
    schema_version: ClassVar[int] = 1

    @classmethod
    def type_name(cls) -> str:
        return cls.__name__

    def to_data(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


#: A stored payload of one schema version -> the payload of the next version. Pure: it returns a new
#: mapping and changes nothing it is given (the registry hands it a copy all the same).
Upcast = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventType(LookupError):
    pass


class EventRegistry:
    """Maps stored type names to one service's event classes, and upcasts stored payloads.

    ``upcasters`` maps ``(event class, from_version)`` to the ``Upcast`` from that version to the
    next. Every class of version N must have one for each of 1 .. N-1, and none other: a gap in the
    chain would leave stored events unreadable, so the registry refuses to be built with one.
    """

    def __init__(
        self,
        classes: Iterable[type[DomainEvent]],
        upcasters: Mapping[tuple[type[DomainEvent], int], Upcast] | None = None,
    ) -> None:
        self._classes = {cls.type_name(): cls for cls in classes}
        self._upcasters = {(cls.type_name(), version): up for (cls, version), up in (upcasters or {}).items()}
        expected = {(name, v) for name, cls in self._classes.items() for v in range(1, cls.schema_version)}
        if set(self._upcasters) != expected:
            missing = sorted(expected - set(self._upcasters))
            extra = sorted(set(self._upcasters) - expected)
            raise ValueError(f"upcasters do not match the event versions: missing {missing}, extra {extra}")

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._classes

    def __iter__(self) -> Iterator[type[DomainEvent]]:
        return iter(self._classes.values())

    def decode(self, type_name: str, data: Mapping[str, Any]) -> DomainEvent:
        try:
            cls = self._classes[type_name]
        except KeyError:
            raise UnknownEventType(type_name) from None
        return cls.model_validate(data)

    def upcast(
        self, type_name: str, schema_version: int, data: Mapping[str, Any]
    ) -> tuple[int, Mapping[str, Any]]:
        """The payload of a stored event of ``schema_version``, as the current version of its class.

        Raises ``UnreadableEvent`` for a type this registry does not know, and for a version it does
        not know (newer than the class's: written by a newer deployment; or not a version at all).
        """
        cls = self._classes.get(type_name)
        if cls is None:
            raise UnreadableEvent(type_name, schema_version, "not an event type of this service")
        current = cls.schema_version
        if type(schema_version) is not int or not 1 <= schema_version <= current:
            raise UnreadableEvent(type_name, schema_version, f"this code reads versions 1 to {current}")
        if schema_version == current:
            return current, data
        upcast = copy.deepcopy(dict(data))
        for version in range(schema_version, current):
            upcast = self._upcasters[type_name, version](upcast)
        return current, upcast
