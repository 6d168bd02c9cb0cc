"""Domain events: immutable pydantic models, serialised in camelCase, named in the past tense."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class DomainEvent(BaseModel):
    """Payload of an event. The class name is the stored event type."""

    model_config = ConfigDict(frozen=True, alias_generator=to_camel, populate_by_name=True, extra="forbid")

    #: Bumped when the payload's shape changes; older versions are upcast on read.
    schema_version: ClassVar[int] = 1

    @classmethod
    def type_name(cls) -> str:
        return cls.__name__

    def to_data(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class UnknownEventType(LookupError):
    pass


class EventRegistry:
    """Maps stored type names to event classes for one service."""

    def __init__(self, classes: Iterable[type[DomainEvent]]) -> None:
        self._classes = {cls.type_name(): cls for cls in classes}

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._classes

    def decode(self, type_name: str, data: Mapping[str, Any]) -> DomainEvent:
        try:
            cls = self._classes[type_name]
        except KeyError:
            raise UnknownEventType(type_name) from None
        return cls.model_validate(data)
