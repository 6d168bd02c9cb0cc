"""Lambda entry for DynamoDB Streams consumers: decode commits, group, report partial failures, park.

Records are handled one by one, in order, and failed records reported in Lambda's partial batch
response (``partial_batch_response``). The first record of a source stream in a batch projects *all*
of that stream's delivered events in one step (one read, one conditional write), together with those
of the batch's other streams that share its row (a product and its stock: still one read and one
write); the streams' later records share their stream's outcome. A failed stream fails only its own
records, so Lambda retries from the first of them and other aggregates keep moving.

Every consumer names its ``source``: the upcaster of the service that owns the event store it
reads (its ``EventRegistry``). Records are decoded through it, so projectors and policies see every
event at its current schema version; an event it cannot read (a newer version than this code knows)
fails its record, which is retried and finally parked (below).

A consumer with a parking lot (``shop.operations.parking``) reads which of its source streams are
parked once per batch; the records of a parked stream are parked behind it instead of being
applied. The same handler reads the consumer's ``OnFailure`` queue (an SQS event): there the
``Parker`` turns each record Lambda gave up on into parked records. ``StreamConsumer`` is the batch
code all three share, and what ``redrive`` delivers parked records through again.

A policy tells failures that can never succeed (``deterministic``: an event it cannot read, a
payload that fails validation, a rule of the shop) from those that may (a dependency that did not
answer, too little time left, anything unknown). The first park the stream at once, from the failing
record on, and the record counts as handled: retrying it for the mapping's whole budget (hours for
policies) would only hold its shard's lane. The others fail the record, which Lambda delivers again.

Logs and metrics: while a record's events are handled, the commit's ``correlation_id`` (the HTTP
request that caused it), ``stream_id``, ``version`` and ``event_type`` are on every log line, and one
INFO line per event says it was handled; ``RecordsParked`` counts what is parked, and a projector's
``ProjectionLag`` is now minus ``occurredAt`` of the newest event it applied in the batch (dimension
``consumer``: the function's logical name).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Protocol

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from shop import telemetry
from shop.errors import ConcurrencyConflict, ShopError, UnreadableEvent
from shop.eventstore.codec import decode_commit
from shop.eventstore.model import RecordedEvent, format_timestamp, utc_now
from shop.eventstore.upcasting import Upcaster
from shop.operations.parking import (
    Failure,
    OnFailureRecord,
    Parker,
    ParkingLot,
    StreamFailure,
    StreamRecord,
    describe,
    version_of,
)
from shop.operations.parking_dynamodb import StreamBatches
from shop.projection.engine import ProjectionEngine

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


#: Records are not started with less than this left of the invocation (or a third of what it had
#: at the start, if that is less): they fail and are delivered again, rather than the whole batch
#: timing out.
TIME_RESERVE_MS = 6_000


class OutOfTime(Exception):
    """Too little of the invocation is left to handle this record safely."""


class EarlierRecordFailed(Exception):
    """An earlier record of the same source stream failed in this batch: this one is not handled,
    so the stream's records stay in order when Lambda delivers them again."""


class MalformedRecord(Exception):
    """A stream record whose commit does not decode (not a commit of the event store's shape)."""


class BatchFailed(Exception):
    """Every record of the batch failed: the invocation fails, so Lambda delivers the whole batch
    again (and, with ``BisectBatchOnFunctionError``, splits it first). The cause is the first
    record's failure."""


#: The condition a stream parked at once (a deterministic failure, no retries) is parked with.
DETERMINISTIC_FAILURE = "DeterministicFailure"

#: The keys a record's handling puts on every log line, removed once it is handled.
RECORD_KEYS = ("correlation_id", "stream_id", "version", "event_type")


def deterministic(error: BaseException) -> bool:
    """Whether ``error`` is one the same record meets on every delivery: an event this code cannot
    read (``UnreadableEvent``: unknown type or newer schema version), a record that is no commit
    (``MalformedRecord``), a payload that fails validation (pydantic's ``ValidationError``), a rule
    of the shop (a ``ShopError``, but ``ConcurrencyConflict``, which another try may win). Anything
    else (``DependencyUnavailable``, ``OutOfTime``, what is not known) may succeed later."""
    if isinstance(error, ConcurrencyConflict):
        return False
    return isinstance(error, UnreadableEvent | MalformedRecord | ValidationError | ShopError)


class RecordLog:
    """A consumer's log lines about the records it handles (a no-op without a ``Logger``: redrive and
    the parker's retry run outside a Lambda invocation's logging)."""

    def __init__(self, logger: Logger | None = None, consumer: str = "") -> None:
        self._logger = logger
        self.consumer = consumer

    @contextmanager
    def event(self, event: RecordedEvent) -> Iterator[None]:
        """Every line logged inside carries the event's commit keys; they are removed afterwards."""
        if self._logger is None:
            yield
            return
        self._logger.append_keys(
            correlation_id=event.metadata.correlation_id,
            stream_id=event.stream_id,
            version=event.version,
            event_type=event.type,
        )
        try:
            yield
        finally:
            self._logger.remove_keys(list(RECORD_KEYS))

    def handled(self, event: RecordedEvent, what: str) -> None:
        """One INFO line per handled event, with its commit keys."""
        if self._logger is None:
            return
        with self.event(event):
            self._logger.info(what, consumer=self.consumer)


class Policy(Protocol):
    """Reacts to events by issuing commands; idempotent, so redelivery has no second effect."""

    name: str
    handles: frozenset[str]

    def handle(self, event: RecordedEvent) -> None: ...


class Batch(Protocol):
    def handle(self, record: StreamRecord) -> None:
        """Handle one record of the batch; raise if it failed (and must be delivered again)."""
        ...


def stream_id_of(record: Mapping[str, Any]) -> str:
    return str(record["dynamodb"]["Keys"]["streamId"]["S"])


def commit_events(record: Mapping[str, Any], source: Upcaster) -> list[RecordedEvent]:
    """Events of the commit a stream record carries, upcast by ``source`` (empty for anything but an
    insert)."""
    if record.get("eventName") != "INSERT":
        return []
    return decode_commit(record["dynamodb"]["NewImage"], upcaster=source)


def event_types_of(record: Mapping[str, Any]) -> frozenset[str]:
    """The event types a commit's record names (``eventTypes``), without decoding its events."""
    if record.get("eventName") != "INSERT":
        return frozenset()
    return frozenset(record["dynamodb"].get("NewImage", {}).get("eventTypes", {}).get("SS", []))


class _ParkedStreams:
    """Which of a batch's streams are parked (one read, on first use) and parking records behind them."""

    def __init__(self, parking: ParkingLot | None, records: Iterable[Mapping[str, Any]]) -> None:
        self._parking = parking
        self._records: dict[str, list[StreamRecord]] = {}
        for record in records:
            self._records.setdefault(stream_id_of(record), []).append(record)
        self._parked: frozenset[str] | BaseException | None = None

    def park_behind(self, stream_id: str) -> bool:
        """True if the stream is parked and its records in this batch are now parked behind it."""
        if self._parking is None:
            return False
        if self._parked is None:
            try:
                self._parked = self._parking.parked_streams()
            except Exception as error:  # noqa: BLE001 - not knowing fails every stream of the batch
                self._parked = error
        if isinstance(self._parked, BaseException):
            raise self._parked
        if stream_id not in self._parked:
            return False
        records = self._records.get(stream_id, [])
        parked = self._parking.park_behind(stream_id, records)
        if parked:
            telemetry.count(telemetry.Metric.RECORDS_PARKED, len(records))
        return parked

    def park_now(self, record: StreamRecord, error: BaseException) -> bool:
        """Park the record's stream from ``record`` on (it and its later records in this batch),
        with ``error``; False without a parking lot."""
        if self._parking is None:
            return False
        stream_id = stream_id_of(record)
        first = version_of(record)
        records = [r for r in self._records.get(stream_id, []) if version_of(r) >= first]
        failure = Failure(describe(error), format_timestamp(utc_now()), DETERMINISTIC_FAILURE, first)
        self._parking.park(stream_id, records, failure)
        telemetry.count(telemetry.Metric.RECORDS_PARKED, len(records))
        return True


class ProjectionBatch:
    def __init__(
        self,
        engine: ProjectionEngine,
        records: Iterable[Mapping[str, Any]],
        source: Upcaster,
        parking: ParkingLot | None = None,
        log: RecordLog | None = None,
    ) -> None:
        records = list(records)
        self._engine = engine
        self._log = log or RecordLog()
        self._parked = _ParkedStreams(parking, records)
        self._delivered: dict[str, list[RecordedEvent]] = {}
        self._broken: dict[str, Exception] = {}
        for record in records:
            stream_id = stream_id_of(record)
            try:
                self._delivered.setdefault(stream_id, []).extend(commit_events(record, source))
            except (KeyError, ValueError, TypeError, UnreadableEvent) as error:
                self._broken.setdefault(stream_id, error)
        #: The batch's streams by the row they project to, in the order of their first records.
        self._rows: dict[tuple[tuple[str, str], ...], list[str]] = {}
        for stream_id in dict.fromkeys(stream_id_of(record) for record in records):
            row = engine.row_of(stream_id)
            if row is not None:
                self._rows.setdefault(row, []).append(stream_id)
        self._outcome: dict[str, Exception | None] = {}
        self._reported: set[str] = set()
        #: When the newest event this batch applied occurred (``ProjectionLag``).
        self.newest_applied: datetime | None = None

    @staticmethod
    def concerns(engine: ProjectionEngine, record: Mapping[str, Any]) -> bool:
        """Whether the projection has a row for the record's stream."""
        return (
            record.get("eventName") == "INSERT" and engine.projection.target(stream_id_of(record)) is not None
        )

    def handle(self, record: StreamRecord) -> None:
        stream_id = stream_id_of(record)
        if stream_id not in self._outcome:
            self._settle_row(stream_id)
        failure = self._outcome[stream_id]
        if failure is None:
            return
        if stream_id in self._reported:  # the stream's first record in this batch carried the failure
            raise EarlierRecordFailed(stream_id) from failure
        self._reported.add(stream_id)
        raise failure

    def _settle_row(self, stream_id: str) -> None:
        """Park or project every delivered event of the stream and of the batch's other streams that
        share its row (one read, one write: ``ProjectionEngine.project_together``); each stream's
        outcome is the error it failed with, or ``None``."""
        row = self._engine.row_of(stream_id)
        delivered = self._to_project([stream_id] if row is None else self._rows[row])
        first = next((events for events in delivered.values() if events), None)
        if first is None:
            self._outcome.update(dict.fromkeys(delivered))
            return
        try:  # what the projection logs carries the newest commit's keys (of the first stream)
            with self._log.event(max(first, key=_version_of)):
                outcomes = self._engine.project_together(delivered)
        except Exception as error:  # noqa: BLE001 - unexpected: every stream of the row fails
            outcomes = dict.fromkeys(delivered, error)
        for member, failure in outcomes.items():
            self._outcome[member] = failure
            if failure is None:
                self._projected(delivered[member])

    def _to_project(self, streams: Iterable[str]) -> dict[str, list[RecordedEvent]]:
        """The delivered events of those ``streams`` not settled yet that are neither parked (their
        records are parked behind them now) nor broken (those fail)."""
        delivered: dict[str, list[RecordedEvent]] = {}
        for member in streams:
            if member in self._outcome:
                continue
            try:
                if self._parked.park_behind(member):
                    self._outcome[member] = None
                    continue
            except Exception as error:  # noqa: BLE001 - any failure fails this stream's records only
                self._outcome[member] = error
                continue
            if member in self._broken:
                self._outcome[member] = self._broken[member]
                continue
            delivered[member] = self._delivered.get(member, [])
        return delivered

    def _projected(self, events: Sequence[RecordedEvent]) -> None:
        for event in sorted(events, key=_version_of):
            self._log.handled(event, "event projected")
        newest = max((event.occurred_at for event in events), default=None)
        if newest is not None and (self.newest_applied is None or newest > self.newest_applied):
            self.newest_applied = newest


class PolicyBatch:
    def __init__(
        self,
        policy: Policy,
        source: Upcaster,
        records: Iterable[Mapping[str, Any]] = (),
        parking: ParkingLot | None = None,
        log: RecordLog | None = None,
    ) -> None:
        self._policy = policy
        self._source = source
        self._log = log or RecordLog()
        self._parked = _ParkedStreams(parking, records)
        self._failed: dict[str, Exception] = {}
        self._parked_behind: set[str] = set()
        self._checked: set[str] = set()

    @staticmethod
    def concerns(policy: Policy, record: Mapping[str, Any]) -> bool:
        """Whether the record's commit holds an event the policy handles."""
        return bool(event_types_of(record) & policy.handles)

    def handle(self, record: StreamRecord) -> None:
        stream_id = stream_id_of(record)
        if stream_id in self._failed:
            raise EarlierRecordFailed(stream_id) from self._failed[stream_id]
        if stream_id in self._parked_behind:
            return
        try:
            if stream_id not in self._checked:
                self._checked.add(stream_id)
                if self._parked.park_behind(stream_id):
                    self._parked_behind.add(stream_id)
                    return
            self._handle(record)
        except Exception as error:
            if deterministic(error) and self._park_now(record, error):
                self._parked_behind.add(stream_id)
                return
            self._failed[stream_id] = error
            raise

    def _handle(self, record: Mapping[str, Any]) -> None:
        try:
            events = commit_events(record, self._source)
        except (KeyError, ValueError, TypeError) as error:
            raise MalformedRecord(f"{stream_id_of(record)}: {describe(error)}") from error
        for event in events:
            if event.type in self._policy.handles:
                with self._log.event(event):
                    self._policy.handle(event)
                self._log.handled(event, "event handled")

    def _park_now(self, record: Mapping[str, Any], error: BaseException) -> bool:
        """Park the stream at once for a failure no retry can mend; False if that cannot be done
        (no parking lot, or parking failed: the record then fails and is delivered again)."""
        try:
            return self._parked.park_now(record, error)
        except Exception:  # noqa: BLE001 - the original failure is what the caller raises
            return False


class StreamConsumer:
    """A stream consumer's batch code: what its Lambda runs on stream records, what the parker tries
    once more, and what ``redrive`` delivers parked records through again."""

    def __init__(
        self,
        make_batch: Callable[[Sequence[Mapping[str, Any]], ParkingLot | None, RecordLog | None], Batch],
        concerns: Callable[[Mapping[str, Any]], bool],
        parking: Callable[[], ParkingLot] | None = None,
    ) -> None:
        self._make_batch = make_batch
        self.concerns = concerns
        self._parking = parking

    @property
    def parks(self) -> bool:
        return self._parking is not None

    def parking(self) -> ParkingLot:
        if self._parking is None:
            raise LookupError("this consumer has no parking lot")
        return self._parking()

    def batch(
        self, records: Sequence[Mapping[str, Any]], *, parked: bool = True, log: RecordLog | None = None
    ) -> Batch:
        """The batch code over ``records``; ``parked``: records of parked streams park behind them;
        ``log``: where it logs the records it handles (nowhere by default)."""
        lot = self._parking() if parked and self._parking is not None else None
        return self._make_batch(records, lot, log)

    def run(self, records: Sequence[StreamRecord]) -> dict[str, StreamFailure]:
        """Every record through a batch (parked streams park behind); the streams that failed."""
        batch = self.batch(records)
        failed: dict[str, list[StreamRecord]] = {}
        errors: dict[str, BaseException] = {}
        for record in records:
            try:
                batch.handle(record)
            except Exception as error:  # noqa: BLE001 - a failure is an outcome here
                stream_id = stream_id_of(record)
                failed.setdefault(stream_id, []).append(record)
                errors.setdefault(stream_id, _original(error))
        return {s: StreamFailure(tuple(records), errors[s]) for s, records in failed.items()}

    def deliver(self, record: StreamRecord) -> BaseException | None:
        """One parked record through the batch code, parking left out (redrive); its error if any."""
        try:
            self.batch([record], parked=False).handle(record)
        except Exception as error:  # noqa: BLE001
            return _original(error)
        return None

    def parker(self) -> Parker:
        return Parker(self.parking(), StreamBatches.for_environment().read, self.run, self.concerns)


def partial_batch_response(
    records: Sequence[Mapping[str, Any]],
    handle: Callable[[Mapping[str, Any]], None],
    item_identifier: Callable[[Mapping[str, Any]], str],
) -> dict[str, Any]:
    """Every record through ``handle``, in order; Lambda's partial batch response naming each record
    that raised (``item_identifier``: a stream record's sequence number, a message's id). Lambda
    resumes a stream from the first named record and returns each named message to its queue.

    When every record failed, ``BatchFailed`` is raised instead (the invocation fails); an event
    without records is no batch (``ValueError``)."""
    if not records:
        raise ValueError("not a batch: the event has no Records")
    failures: list[dict[str, str]] = []
    first: Exception | None = None
    for record in records:
        try:
            handle(record)
        except Exception as error:  # noqa: BLE001 - a failed record is reported, not raised
            failures.append({"itemIdentifier": item_identifier(record)})
            if first is None:
                first = error
    if first is not None and len(failures) == len(records):
        raise BatchFailed(f"all {len(records)} records failed; the first: {describe(first)}") from first
    return {"batchItemFailures": failures}


def _sequence_number(record: Mapping[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def _message_id(record: Mapping[str, Any]) -> str:
    return str(record["messageId"])


def _original(error: BaseException) -> BaseException:
    """The failure a follower (``EarlierRecordFailed``) stands for."""
    while isinstance(error, EarlierRecordFailed) and error.__cause__ is not None:
        error = error.__cause__
    return error


class StreamHandler:
    """A consumer's Lambda handler; ``consumer`` is its batch code (``shopctl redrive`` runs it),
    ``source`` which service's events it reads (checked against template.yaml by tests)."""

    def __init__(self, consumer: StreamConsumer, handle: LambdaHandler, source: Upcaster) -> None:
        self.consumer = consumer
        self.source = source
        self._handle = handle

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return self._handle(event, context)


def _stream_handler(
    consumer: StreamConsumer, source: Upcaster, name: str | None, *, measures_lag: bool
) -> StreamHandler:
    logger = Logger()

    @logger.inject_lambda_context(log_event=False)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        records = event.get("Records", [])
        consumer_name = name or os.environ.get("POWERTOOLS_SERVICE_NAME", "")
        if records and records[0].get("eventSource") == "aws:sqs":
            return _park_failures(consumer, event, logger)
        batch = consumer.batch(records, log=RecordLog(logger, consumer_name))
        reserve = min(TIME_RESERVE_MS, _remaining_ms(context) // 3)

        def within_time(record: StreamRecord) -> None:
            remaining = _remaining_ms(context)
            if remaining < reserve:
                raise OutOfTime(f"{remaining} ms left; the record is left for the next delivery")
            batch.handle(record)

        response = partial_batch_response(records, within_time, _sequence_number)
        newest = getattr(batch, "newest_applied", None)
        if measures_lag and newest is not None:
            telemetry.lag(consumer_name, (utc_now() - newest).total_seconds() * 1000)
        logger.info("batch handled", records=len(records), failed=len(response["batchItemFailures"]))
        return response

    return StreamHandler(consumer, telemetry.instrumented(handler), source)


def _park_failures(consumer: StreamConsumer, event: dict[str, Any], logger: Logger) -> dict[str, Any]:
    """The consumer's on-failure queue: park what each record names. A message that is not an
    on-failure record is logged and dropped (only Lambda may send to the queue)."""
    parker = consumer.parker()

    def park(record: Mapping[str, Any]) -> None:
        try:
            message = OnFailureRecord.model_validate_json(record["body"])
        except ValidationError as error:
            logger.error(  # noqa: TRY400 - the message, not a traceback, says what was wrong
                "not an on-failure record: dropped", message_id=record["messageId"], error=str(error)
            )
            return
        parked = parker.park(message)
        telemetry.count(telemetry.Metric.RECORDS_PARKED, parked.records)
        log = logger.warning if parked.streams or parked.unresolved else logger.info
        log(
            "records parked"
            if parked.streams or parked.unresolved
            else "nothing to park: tried again, settled",
            condition=message.condition,
            shard=message.batch.shard_id,
            first=message.batch.start_sequence_number,
            last=message.batch.end_sequence_number,
            streams=list(parked.streams),
            settled=parked.settled,
            unresolved=parked.unresolved,
        )

    return partial_batch_response(event["Records"], park, _message_id)


def _remaining_ms(context: Any) -> int:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return int(remaining()) if remaining is not None else 3 * TIME_RESERVE_MS


def projector_handler(
    engine: Callable[[], ProjectionEngine],
    parking: Callable[[], ParkingLot] | None = None,
    *,
    source: Upcaster,
    name: str | None = None,
) -> StreamHandler:
    """The Lambda handler of a projector; ``engine`` and ``parking`` are cached factories, called on
    first use; ``source``: the registry of the service whose event store stream it reads; ``name``:
    the function's logical name (its ``ProjectionLag`` dimension ``consumer``; by default
    ``POWERTOOLS_SERVICE_NAME``)."""
    return _stream_handler(
        StreamConsumer(
            lambda records, lot, log: ProjectionBatch(engine(), records, source, lot, log),
            lambda record: ProjectionBatch.concerns(engine(), record),
            parking,
        ),
        source,
        name,
        measures_lag=True,
    )


def policy_handler(
    policy: Callable[[], Policy],
    parking: Callable[[], ParkingLot] | None = None,
    *,
    source: Upcaster,
    name: str | None = None,
) -> StreamHandler:
    """The Lambda handler of a policy; ``policy`` and ``parking`` are cached factories, called on
    first use; ``source``: the registry of the service whose event store stream it reads (often
    another's); ``name``: the function's logical name (on its log lines; by default
    ``POWERTOOLS_SERVICE_NAME``)."""
    return _stream_handler(
        StreamConsumer(
            lambda records, lot, log: PolicyBatch(policy(), source, records, lot, log),
            lambda record: PolicyBatch.concerns(policy(), record),
            parking,
        ),
        source,
        name,
        measures_lag=False,
    )


def _version_of(event: RecordedEvent) -> int:
    return event.version
