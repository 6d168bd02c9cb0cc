"""Lambda entry for DynamoDB Streams consumers: decode commits, group, report partial failures.

Records are handled with Powertools' ``BatchProcessor``. The first record of a source stream in a
batch projects *all* of that stream's delivered events in one step (one read, one conditional
write); the stream's later records share that outcome. A failed stream fails only its own
records, so Lambda retries from the first of them and other aggregates keep moving.

Every consumer names its ``source``: the upcaster of the service that owns the event store it
reads (its ``EventRegistry``). Records are decoded through it, so projectors and policies see every
event at its current schema version; an event it cannot read (a newer version than this code knows)
fails its record, which is retried and finally goes to the mapping's on-failure destination.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, cast

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from shop.errors import UnreadableEvent
from shop.eventstore.codec import decode_commit
from shop.eventstore.model import RecordedEvent
from shop.eventstore.upcasting import Upcaster
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


class Policy(Protocol):
    """Reacts to events by issuing commands; idempotent, so redelivery has no second effect."""

    name: str
    handles: frozenset[str]

    def handle(self, event: RecordedEvent) -> None: ...


def stream_id_of(record: Mapping[str, Any]) -> str:
    return str(record["dynamodb"]["Keys"]["streamId"]["S"])


def commit_events(record: Mapping[str, Any], source: Upcaster) -> list[RecordedEvent]:
    """Events of the commit a stream record carries, upcast by ``source`` (empty for anything but an
    insert)."""
    if record.get("eventName") != "INSERT":
        return []
    return decode_commit(record["dynamodb"]["NewImage"], upcaster=source)


class ProjectionBatch:
    def __init__(
        self, engine: ProjectionEngine, records: Iterable[Mapping[str, Any]], source: Upcaster
    ) -> None:
        self._engine = engine
        self._delivered: dict[str, list[RecordedEvent]] = {}
        self._broken: dict[str, Exception] = {}
        for record in records:
            stream_id = stream_id_of(record)
            try:
                self._delivered.setdefault(stream_id, []).extend(commit_events(record, source))
            except (KeyError, ValueError, TypeError, UnreadableEvent) as error:
                self._broken.setdefault(stream_id, error)
        self._outcome: dict[str, Exception | None] = {}

    def handle(self, record: DynamoDBRecord) -> None:
        stream_id = stream_id_of(record.raw_event)
        if stream_id in self._outcome:  # projected with the stream's first record in this batch
            failure = self._outcome[stream_id]
            if failure is not None:
                raise EarlierRecordFailed(stream_id) from failure
            return
        failure = self._outcome[stream_id] = self._project(stream_id)
        if failure is not None:
            raise failure

    def _project(self, stream_id: str) -> Exception | None:
        """Project every delivered event of the stream; the error if that failed."""
        if stream_id in self._broken:
            return self._broken[stream_id]
        try:
            self._engine.project(stream_id, self._delivered.get(stream_id, []))
        except Exception as error:  # noqa: BLE001 - any failure fails this stream's records only
            return error
        return None


class PolicyBatch:
    def __init__(self, policy: Policy, source: Upcaster) -> None:
        self._policy = policy
        self._source = source
        self._failed: dict[str, Exception] = {}

    def handle(self, record: DynamoDBRecord) -> None:
        stream_id = stream_id_of(record.raw_event)
        if stream_id in self._failed:
            raise EarlierRecordFailed(stream_id) from self._failed[stream_id]
        try:
            for event in commit_events(record.raw_event, self._source):
                if event.type in self._policy.handles:
                    self._policy.handle(event)
        except Exception as error:
            self._failed[stream_id] = error
            raise


def _stream_handler(
    make_batch: Callable[[list[dict[str, Any]]], Callable[[DynamoDBRecord], None]], source: Upcaster
) -> LambdaHandler:
    logger = Logger()
    tracer = Tracer()

    @tracer.capture_lambda_handler(capture_response=False)
    @logger.inject_lambda_context(log_event=False)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        records = event.get("Records", [])
        processor = BatchProcessor(event_type=EventType.DynamoDBStreams)  # per invocation: re-entrant
        handle = make_batch(records)
        reserve = min(TIME_RESERVE_MS, _remaining_ms(context) // 3)

        def within_time(record: DynamoDBRecord) -> None:
            remaining = _remaining_ms(context)
            if remaining < reserve:
                raise OutOfTime(f"{remaining} ms left; the record is left for the next delivery")
            handle(record)

        response = process_partial_response(event, within_time, processor, context)
        logger.info("batch handled", records=len(records), failed=len(response["batchItemFailures"]))
        return dict(response)

    handler.source = source  # which service's events it reads (checked against template.yaml by tests)
    return cast("LambdaHandler", handler)


def _remaining_ms(context: Any) -> int:
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return int(remaining()) if remaining is not None else 3 * TIME_RESERVE_MS


def projector_handler(engine: Callable[[], ProjectionEngine], *, source: Upcaster) -> LambdaHandler:
    """The Lambda handler of a projector; ``engine`` is a cached factory, called on first use;
    ``source``: the registry of the service whose event store stream it reads."""
    return _stream_handler(lambda records: ProjectionBatch(engine(), records, source).handle, source)


def policy_handler(policy: Callable[[], Policy], *, source: Upcaster) -> LambdaHandler:
    """The Lambda handler of a policy; ``policy`` is a cached factory, called on first use;
    ``source``: the registry of the service whose event store stream it reads (often another's)."""
    return _stream_handler(lambda _: PolicyBatch(policy(), source).handle, source)
