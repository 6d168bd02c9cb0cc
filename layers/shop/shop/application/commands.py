"""Running a command against one aggregate: load, check If-Match, decide, append, retry on races."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from shop.application.access import Caller
from shop.application.repository import Repository
from shop.application.retry import retry_on_conflict
from shop.domain.aggregate import Aggregate
from shop.errors import NotFound, VersionMismatch
from shop.eventstore.model import EventMetadata
from shop.eventstore.store import ConcurrencyError

#: Attempts after the first when a concurrent writer wins and the caller stated no If-Match.
DEFAULT_RETRIES = 4
#: Seconds after which no further attempt is started (409 instead): an attempt is a load and an
#: append, and on a slow store five of them outlast the HTTP functions' 10 s timeout (a Lambda
#: timeout is a bare 500 from API Gateway). 3 s plus one call at its worst
#: (``shop.dependencies.WORST_CALL_SECONDS``, 6 s) still ends inside it.
TIME_BUDGET = 3.0
#: Namespace of the ids a keyed request creates (``CommandContext.new_id``).
_REQUEST_IDS = uuid.UUID("5d1e7a52-4c0b-4f0e-9a57-2f7f3c1b6e10")


@dataclass(frozen=True, slots=True)
class CommandContext:
    """Who asks, why, and under which precondition.

    ``caller`` is the verified caller (a policy acts for the actor of the event that triggered it,
    with no group). ``expected_version`` comes from ``If-Match``: when set, a different version is
    a ``VersionMismatch`` and a lost race is not retried (the caller's view is stale by definition).

    ``request_key`` identifies the request when it carried an ``Idempotency-Key`` (a digest of the
    key, its route and its caller). Its commits carry it, so running the same request again is
    answered from what the first run appended (``run_command``) instead of appending twice.
    """

    correlation_id: str
    causation_id: str
    expected_version: int | None = None
    caller: Caller = field(kw_only=True)
    request_key: str | None = field(default=None, kw_only=True)

    @property
    def metadata(self) -> EventMetadata:
        return EventMetadata(self.correlation_id, self.causation_id, self.caller.sub, self.request_key or "")

    def new_id(self, kind: str, fresh: Callable[[], str], generation: int = 0) -> str:
        """The id of a ``kind`` of thing this command creates: ``fresh()``, or for a keyed request
        one derived from its key, so that a second run of the request names the same thing.

        ``generation`` counts the uses of the key before this one whose lifetime has passed, each
        of which named its own thing: the first use derives the id from the key alone, the next
        from the key and 1, and so on (``CartCommands.create_cart`` walks them)."""
        if self.request_key is None:
            return fresh()
        suffix = f":{generation}" if generation else ""
        return str(uuid.uuid5(_REQUEST_IDS, f"{kind}:{self.request_key}{suffix}"))


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What a command did; ``replayed``: nothing, now, because an earlier run of the same keyed
    request did it (``version`` is then what that run appended)."""

    aggregate_id: str
    stream_id: str
    version: int
    changed: bool
    replayed: bool = False


def earlier_run(
    repository: Repository, cls: type[Aggregate], aggregate_id: str, context: CommandContext
) -> CommandResult | None:
    """The result of an earlier run of this keyed request on ``aggregate_id``, if it appended there."""
    if context.request_key is None:
        return None
    _, version = repository.load_with_request(cls, aggregate_id, context.request_key)
    if version is None:
        return None
    return CommandResult(aggregate_id, cls.stream_id_for(aggregate_id), version, changed=True, replayed=True)


def run_command[A: Aggregate](
    repository: Repository,
    cls: type[A],
    aggregate_id: str,
    decide: Callable[[A], None],
    context: CommandContext,
    *,
    retries: int = DEFAULT_RETRIES,
    require_existing: bool = True,
    guards: Callable[[], Sequence[Aggregate]] = tuple,
    visible: Callable[[A], bool] | None = None,
) -> CommandResult:
    """Apply ``decide`` to the current state of the aggregate and append what it records.

    ``decide`` calls the aggregate's command methods; they raise domain errors or record events.
    Recording nothing is a valid outcome (the command changed nothing) and appends nothing.
    ``guards`` loads (and checks) other aggregates the decision depends on; they must still be
    unchanged when the events are appended, in the same transaction. An existing aggregate that is
    not ``visible`` to the caller is answered exactly like one that does not exist (``NotFound``,
    before any precondition is compared), so its existence is not revealed.

    A keyed request (``context.request_key``) that already appended to this stream, in a run whose
    answer was lost, is answered from that commit before anything is decided or compared: its
    version, ``replayed``, and nothing appended.
    """

    def attempt() -> CommandResult:
        aggregate, earlier = repository.load_with_request(cls, aggregate_id, context.request_key)
        if earlier is not None:
            return CommandResult(aggregate_id, aggregate.stream_id, earlier, changed=True, replayed=True)
        guarding = guards()
        hidden = visible is not None and aggregate.exists and not visible(aggregate)
        if (require_existing and not aggregate.exists) or hidden:
            raise NotFound(f"{cls.__name__} {aggregate_id} does not exist.")
        if context.expected_version is not None and aggregate.version != context.expected_version:
            raise VersionMismatch(context.expected_version, aggregate.version)
        decide(aggregate)
        changed = bool(aggregate.pending_events)
        try:
            repository.save(aggregate, metadata=context.metadata, unchanged=guarding if changed else ())
        except ConcurrencyError as error:
            if context.expected_version is not None and aggregate.stream_id in error.stream_ids:
                raise VersionMismatch(context.expected_version) from None
            raise
        return CommandResult(aggregate_id, aggregate.stream_id, aggregate.version, changed)

    return retry_on_conflict(
        attempt, retries=retries, what=f"{cls.__name__} {aggregate_id}", time_budget=TIME_BUDGET
    )
