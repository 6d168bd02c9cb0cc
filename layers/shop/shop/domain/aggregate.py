"""Aggregate base: state rebuilt from events; command methods check rules and record new events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from shop.domain.events import DomainEvent


class UnreadableState(ValueError):
    """A snapshot's state is not one this aggregate can restore (corrupt, or another shape)."""


class SnapshotState(BaseModel):
    """An aggregate's state as a snapshot keeps it: plain JSON in camelCase, nothing extra, and no
    coercion where JSON has the type (a string is never read as a number or a flag)."""

    model_config = ConfigDict(
        frozen=True, alias_generator=to_camel, populate_by_name=True, extra="forbid", strict=True
    )


class Aggregate:
    """A consistency boundary stored as one event stream ``<stream_prefix>-<id>``.

    Subclasses implement ``apply`` (pure state change, no rules) and command methods that check
    the rules, then call ``_record``. ``version`` is the version of the last stored event.

    An aggregate whose streams grow long may also be snapshotted: it names the shape of its state
    (``snapshot_schema``, bumped whenever ``snapshot_state`` changes shape or meaning) and turns
    its state into plain JSON and back (``snapshot_state``, ``_restore``). Restoring a snapshot and
    applying the later events gives exactly the aggregate that applying every event gives.
    """

    stream_prefix: ClassVar[str]
    #: The version of ``snapshot_state``'s shape; None: this aggregate is never snapshotted.
    snapshot_schema: ClassVar[int | None] = None

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
        return cls(aggregate_id).catch_up(history, version)

    @classmethod
    def from_snapshot(cls, aggregate_id: str, state: Mapping[str, Any], version: int) -> Self:
        """The aggregate as it was at ``version``, from its ``snapshot_state`` then.

        Raises ``UnreadableState`` when ``state`` is not a state of this aggregate's shape.
        """
        if cls.snapshot_schema is None:
            raise UnreadableState(f"{cls.__name__} is never snapshotted")
        aggregate = cls(aggregate_id)
        try:
            aggregate._restore(state)
        except (ValidationError, TypeError, LookupError) as error:
            raise UnreadableState(f"not a {cls.__name__} state: {error}") from error
        aggregate.version = version
        return aggregate

    def catch_up(self, history: Iterable[DomainEvent], version: int) -> Self:
        """Apply the stored events that follow the current state; ``version`` is the last one's."""
        for event in history:
            self.apply(event)
        self.version = version
        return self

    def snapshot_state(self) -> dict[str, Any]:
        """The state (not the id, version or pending events) as plain JSON values."""
        raise NotImplementedError

    def _restore(self, state: Mapping[str, Any]) -> None:
        """Set the state from what ``snapshot_state`` gave (validated: raise on anything else)."""
        raise NotImplementedError

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
