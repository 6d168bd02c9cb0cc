"""Aggregate base: state rebuilt from events; command methods check rules and record new events."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Self

from shop.domain.events import DomainEvent


class Aggregate:
    """A consistency boundary stored as one event stream ``<stream_prefix>-<id>``.

    Subclasses implement ``apply`` (pure state change, no rules) and command methods that check
    the rules, then call ``_record``. ``version`` is the version of the last stored event.
    """

    stream_prefix: ClassVar[str]

    def __init__(self, aggregate_id: str) -> None:
        self.id = aggregate_id
        self.version = 0
        self._pending: list[DomainEvent] = []

    @classmethod
    def stream_id_for(cls, aggregate_id: str) -> str:
        return f"{cls.stream_prefix}-{aggregate_id}"

    @property
    def stream_id(self) -> str:
        return self.stream_id_for(self.id)

    @property
    def exists(self) -> bool:
        return self.version > 0 or bool(self._pending)

    @classmethod
    def rehydrate(cls, aggregate_id: str, history: Iterable[DomainEvent], version: int) -> Self:
        aggregate = cls(aggregate_id)
        for event in history:
            aggregate.apply(event)
        aggregate.version = version
        return aggregate

    def apply(self, event: DomainEvent) -> None:
        raise NotImplementedError

    def _record(self, event: DomainEvent) -> None:
        self.apply(event)
        self._pending.append(event)

    @property
    def pending_events(self) -> tuple[DomainEvent, ...]:
        return tuple(self._pending)

    def mark_committed(self, version: int) -> None:
        self._pending.clear()
        self.version = version
