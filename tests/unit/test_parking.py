"""Parking and redrive (shop.operations.parking) with the stream handlers' batch code, in memory.

A poison event parks its stream for that consumer; later records of the stream are parked behind it,
never applied out of order, while other streams flow; a redrive after the fix delivers the parked
records in order through the same batch code and ends where a clean replay ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from local.aws.functions import LambdaContext
from shop.eventstore.memory import InMemoryEventStore
from shop.eventstore.model import EventMetadata, NewEvent, RecordedEvent
from shop.eventstore.upcasting import AS_STORED
from shop.operations.parking import (
    Failure,
    InMemoryParkingLot,
    NotParked,
    OnFailureRecord,
    Parker,
    StreamBatchInfo,
    StreamRecord,
    Unresolvable,
    redrive,
)
from shop.projection.engine import ProjectionEngine, Row
from shop.streams import BatchFailed, EarlierRecordFailed, policy_handler, projector_handler
from shop.views.memory import InMemoryView
from tests.support.histories import stream_record
from tests.unit.test_projection_engine import AppliedVersions

META = EventMetadata("corr", "cause", "someone")
CONSUMER = "ThingProjector"
NOW = "2030-01-01T00:00:00.000000Z"

#: The invocation record the AWS Lambda Developer Guide shows for a DynamoDB stream
#: ("Retain discarded records for a DynamoDB event source in Lambda").
AWS_EXAMPLE = """{
    "requestContext": {
        "requestId": "316aa6d0-8154-xmpl-9af7-85d5f4a6bc81",
        "functionArn": "arn:aws:lambda:us-east-2:123456789012:function:myfunction",
        "condition": "RetryAttemptsExhausted",
        "approximateInvokeCount": 1
    },
    "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
    "version": "1.0",
    "timestamp": "2019-11-14T00:13:49.717Z",
    "DDBStreamBatchInfo": {
        "shardId": "shardId-00000001573689847184-864758bb",
        "startSequenceNumber": "800000000003126276362",
        "endSequenceNumber": "800000000003126276362",
        "approximateArrivalOfFirstRecord": "2019-11-14T00:13:19Z",
        "approximateArrivalOfLastRecord": "2019-11-14T00:13:19Z",
        "batchSize": 1,
        "streamArn": "arn:aws:dynamodb:us-east-2:123456789012:table/mytable/stream/2019-11-14T00:04:06.388"
    }
}"""


class Poison(Exception):
    pass


class PoisonedProjection(AppliedVersions):
    """One row per ``thing-<id>`` stream listing the versions applied; refuses events marked
    ``poison`` until ``fixed`` (a bug in the projection, then its fix)."""

    name = "Things"

    def __init__(self) -> None:
        self.fixed = False

    def target(self, stream_id: str) -> Any:
        target = super().target(stream_id)
        return target and type(target)({"id": stream_id.removeprefix("thing-")}, target.checkpoint)

    def apply(self, row: Row, event: RecordedEvent) -> Any:
        if event.data.get("poison") and not self.fixed:
            raise Poison(f"{event.stream_id} v{event.version}")
        return super().apply(row, event)


class World:
    """An event store, its stream (records in append order) and a projector with a parking lot."""

    def __init__(self) -> None:
        self.store = InMemoryEventStore()
        self.records: list[dict[str, Any]] = []
        self.projection = PoisonedProjection()
        self.view = InMemoryView()
        self.lot = InMemoryParkingLot(CONSUMER, now=lambda: NOW)
        self.engine = ProjectionEngine(self.projection, self.view, self.store)
        self.handler = projector_handler(lambda: self.engine, lambda: self.lot, source=AS_STORED)

    def append(self, stream_id: str, **data: Any) -> dict[str, Any]:
        version = len(self.store.load(stream_id))
        self.store.append(stream_id, version, [NewEvent("Happened", data)], META)
        record = stream_record(self.store.commits[-1], len(self.records) + 1)
        self.records.append(record)
        return record

    def deliver(self, *records: dict[str, Any]) -> list[str]:
        """One batch through the Lambda handler; the sequence numbers it reported failed (all of
        them when the handler raised: it raises when every record failed)."""
        try:
            response = self.handler({"Records": list(records)}, LambdaContext(CONSUMER))
        except BatchFailed:
            return [sequence(record) for record in records]
        return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]

    def give_up(self, *records: dict[str, Any], condition: str = "RetryAttemptsExhausted") -> Any:
        """What Lambda's on-failure record for ``records`` makes the parker do."""
        consumer = self.handler.consumer
        parker = Parker(self.lot, reader(self.records), consumer.run, consumer.concerns, now=lambda: NOW)
        return parker.park(on_failure(records, condition))

    def row(self, thing: str) -> Any:
        return self.view.get({"id": thing})

    def clean_replay(self, thing: str) -> Any:
        """The row a fresh projector makes of the whole stream (the projection fixed)."""
        view = InMemoryView()
        ProjectionEngine(self.projection, view, self.store).project(
            f"thing-{thing}", self.store.load(f"thing-{thing}")
        )
        return view.get({"id": thing})


def sequence(record: StreamRecord) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def on_failure(records: Sequence[StreamRecord], condition: str = "RetryAttemptsExhausted") -> OnFailureRecord:
    message = {
        "requestContext": {"condition": condition, "approximateInvokeCount": 9},
        "DDBStreamBatchInfo": {
            "shardId": "shard-1",
            "startSequenceNumber": sequence(records[0]),
            "endSequenceNumber": sequence(records[-1]),
            "batchSize": len(records),
            "streamArn": "arn:aws:dynamodb:us-east-1:123456789012:table/Things/stream/x",
        },
    }
    return OnFailureRecord.model_validate(message)


def reader(stream: list[dict[str, Any]]) -> Any:
    """Reads the records between two sequence numbers back from ``stream``, as the parker does."""

    def read(batch: StreamBatchInfo) -> list[StreamRecord] | None:
        start, end = int(batch.start_sequence_number), int(batch.end_sequence_number)
        return [r for r in stream if start <= int(sequence(r)) <= end]

    return read


def parked_versions(lot: InMemoryParkingLot, stream_id: str) -> list[int]:
    parked = lot.stream(stream_id)
    return [r.version for r in parked.records] if parked else []


# ---------------------------------------------------------------------- the on-failure record
def test_the_on_failure_record_is_read_as_aws_documents_it() -> None:
    message = OnFailureRecord.model_validate_json(AWS_EXAMPLE)

    assert message.condition == "RetryAttemptsExhausted"
    assert message.batch == StreamBatchInfo(
        shardId="shardId-00000001573689847184-864758bb",
        startSequenceNumber="800000000003126276362",
        endSequenceNumber="800000000003126276362",
        approximateArrivalOfFirstRecord="2019-11-14T00:13:19Z",
        approximateArrivalOfLastRecord="2019-11-14T00:13:19Z",
        batchSize=1,
        streamArn="arn:aws:dynamodb:us-east-2:123456789012:table/mytable/stream/2019-11-14T00:04:06.388",
    )


# ---------------------------------------------------------------------- parking a poison event
def test_a_poison_event_is_parked_with_its_error_and_other_aggregates_are_unaffected() -> None:
    world = World()
    a1, b1 = world.append("thing-a"), world.append("thing-b")
    assert world.deliver(a1, b1) == []
    a2, b2 = world.append("thing-a", poison=True), world.append("thing-b")

    assert world.deliver(a2, b2) == [sequence(a2)]  # Lambda retries a2 (and b2 after it) ...
    parked = world.give_up(a2, b2)  # ... until it gives up on both

    assert parked.streams == ("thing-a",)
    assert parked.settled == 1  # b2, tried once more: applied (again)
    entry = world.lot.stream("thing-a")
    assert entry is not None
    assert entry.failure == Failure("Poison: thing-a v2", NOW, "RetryAttemptsExhausted", 2)
    assert [r.record for r in entry.records] == [a2]
    assert world.lot.parked_streams() == {"thing-a"}
    assert world.row("a") == {"id": "a", "applied": [1], "version": 1}
    assert world.row("b") == {"id": "b", "applied": [1, 2], "version": 2}


def test_a_stream_that_succeeds_when_tried_once_more_is_not_parked() -> None:
    world = World()
    a1 = world.append("thing-a", poison=True)
    assert world.deliver(a1) == [sequence(a1)]
    world.projection.fixed = True  # the cause went away (a throttled table, a deployment)

    parked = world.give_up(a1, condition="RecordAgeExceeded")

    assert parked.streams == ()
    assert parked.settled == 1
    assert world.lot.streams() == []
    assert world.row("a") == {"id": "a", "applied": [1], "version": 1}


def test_the_parked_error_is_the_first_failing_records_own_not_its_followers() -> None:
    world = World()
    a1, a2, a3 = world.append("thing-a"), world.append("thing-a", poison=True), world.append("thing-a")
    assert world.deliver(a1) == []

    world.give_up(a2, a3)

    entry = world.lot.stream("thing-a")
    assert entry is not None
    assert entry.failure.error.startswith(f"{Poison.__name__}: ")
    assert not entry.failure.error.startswith(EarlierRecordFailed.__name__)
    assert entry.failure.version == 2
    assert parked_versions(world.lot, "thing-a") == [2, 3]


def test_records_the_consumer_does_not_handle_are_not_parked() -> None:
    world = World()
    a1 = world.append("thing-a", poison=True)
    other = world.append("other-x")  # in the range read back, but no thing stream

    assert world.give_up(a1, other).streams == ("thing-a",)
    assert world.lot.stream("other-x") is None


def test_records_that_left_the_stream_are_kept_as_what_the_on_failure_record_says() -> None:
    lot = InMemoryParkingLot(CONSUMER, now=lambda: NOW)
    parker = Parker(lot, lambda batch: None, lambda records: {}, lambda record: True)
    message = OnFailureRecord.model_validate_json(AWS_EXAMPLE)

    parked = parker.park(message)

    assert parked.unresolved == "#unresolved/shardId-00000001573689847184-864758bb/800000000003126276362"
    [entry] = lot.streams()
    assert entry.unresolved
    assert entry.stream_id == parked.unresolved
    assert entry.failure.condition == "RetryAttemptsExhausted"
    assert entry.batch is not None
    assert entry.batch["startSequenceNumber"] == "800000000003126276362"
    assert lot.parked_streams() == frozenset()  # no stream is held back by it
    assert redrive(lot, lambda record: None) == []  # and redriving everything leaves it alone
    with pytest.raises(Unresolvable):
        redrive(lot, lambda record: None, parked.unresolved)


# ---------------------------------------------------------------------- parked behind
def test_later_records_of_a_parked_stream_are_parked_behind_it_not_applied() -> None:
    world = World()
    a1 = world.append("thing-a", poison=True)
    world.give_up(a1)
    a2, b1, a3 = world.append("thing-a"), world.append("thing-b"), world.append("thing-a")
    reads = world.lot.reads

    assert world.deliver(a2, b1, a3) == []

    assert world.lot.reads == reads + 1  # one read of the parked streams for the whole batch
    assert parked_versions(world.lot, "thing-a") == [1, 2, 3]
    assert world.row("a") is None
    assert world.row("b") == {"id": "b", "applied": [1], "version": 1}


def test_a_policy_parks_the_records_of_a_parked_stream_and_handles_the_others() -> None:
    class Recording:
        name = "Recording"
        handles = frozenset({"Happened"})

        def __init__(self) -> None:
            self.handled: list[tuple[str, int]] = []

        def handle(self, event: RecordedEvent) -> None:
            self.handled.append((event.stream_id, event.version))

    world = World()
    policy = Recording()
    handler = policy_handler(lambda: policy, lambda: world.lot, source=AS_STORED)
    a1 = world.append("thing-a")
    world.lot.park("thing-a", [a1], Failure("Poison: a", NOW, "RetryAttemptsExhausted", 1))
    a2, b1, a3 = world.append("thing-a"), world.append("thing-b"), world.append("thing-a")

    response = handler({"Records": [a2, b1, a3]}, LambdaContext("Policy"))

    assert response == {"batchItemFailures": []}
    assert policy.handled == [("thing-b", 1)]
    assert parked_versions(world.lot, "thing-a") == [1, 2, 3]


def test_a_stream_released_between_the_read_and_the_park_is_applied_as_usual() -> None:
    """The race with a redrive finishing: the batch read the stream as parked, the redrive released
    it, so parking behind finds no entry and the batch applies the records itself, in order."""

    class ReleasedMeanwhile(InMemoryParkingLot):
        def parked_streams(self) -> frozenset[str]:
            return frozenset({"thing-a"})

    world = World()
    world.lot = ReleasedMeanwhile(CONSUMER)
    world.handler = projector_handler(lambda: world.engine, lambda: world.lot, source=AS_STORED)
    a1 = world.append("thing-a")

    assert world.deliver(a1) == []

    assert world.row("a") == {"id": "a", "applied": [1], "version": 1}
    assert world.lot.streams() == []


def test_without_the_parked_streams_no_record_of_the_batch_is_applied() -> None:
    class Unreachable(InMemoryParkingLot):
        def parked_streams(self) -> frozenset[str]:
            raise ConnectionError("parked-records table unreachable")

    world = World()
    world.lot = Unreachable(CONSUMER)
    world.handler = projector_handler(lambda: world.engine, lambda: world.lot, source=AS_STORED)
    a1, b1 = world.append("thing-a"), world.append("thing-b")

    assert world.deliver(a1, b1) == [sequence(a1), sequence(b1)]
    assert world.row("a") is None
    assert world.row("b") is None


# ---------------------------------------------------------------------- redrive
def test_fix_then_redrive_ends_where_a_clean_replay_ends() -> None:
    world = World()
    a1, a2 = world.append("thing-a"), world.append("thing-a", poison=True)
    assert world.deliver(a1) == []
    assert world.deliver(a2) == [sequence(a2)]
    world.give_up(a2)
    a3, b1 = world.append("thing-a"), world.append("thing-b")
    assert world.deliver(a3, b1) == []
    world.projection.fixed = True

    [outcome] = redrive(world.lot, world.handler.consumer.deliver)

    assert (outcome.stream_id, outcome.delivered, outcome.remaining, outcome.released) == (
        "thing-a",
        2,
        0,
        True,
    )
    assert world.row("a") == world.clean_replay("a") == {"id": "a", "applied": [1, 2, 3], "version": 3}
    assert world.lot.streams() == []
    assert world.lot.parked_streams() == frozenset()
    a4 = world.append("thing-a")
    assert world.deliver(a4) == []  # released: later records apply as usual again
    assert world.row("a") == world.clean_replay("a")


def test_a_redrive_stops_at_a_record_that_still_fails_and_keeps_it_and_the_rest() -> None:
    world = World()
    a1, a2, a3 = world.append("thing-a"), world.append("thing-a"), world.append("thing-a", poison=True)
    a4 = world.append("thing-a")
    world.lot.park("thing-a", [a1, a2, a3, a4], Failure("Earlier: a", NOW, "", 1))
    delivered: list[int] = []

    [outcome] = redrive(
        world.lot, world.handler.consumer.deliver, "thing-a", progress=lambda r: delivered.append(r.version)
    )

    assert (outcome.delivered, outcome.remaining, outcome.released) == (2, 2, False)
    assert outcome.stopped is not None
    assert (outcome.stopped.version, outcome.stopped.condition) == (3, "redrive")
    assert outcome.stopped.error == "Poison: thing-a v3"
    assert delivered == [1, 2]
    assert parked_versions(world.lot, "thing-a") == [3, 4]
    entry = world.lot.stream("thing-a")
    assert entry is not None
    assert entry.last_redrive == outcome.stopped
    assert entry.failure.error == "Earlier: a"  # why it was parked first is kept
    assert world.row("a") == {"id": "a", "applied": [1, 2], "version": 2}
    assert world.lot.parked_streams() == {"thing-a"}


def test_a_record_parked_during_a_redrive_is_delivered_before_the_stream_is_released() -> None:
    world = World()
    a1 = world.append("thing-a")
    world.lot.park("thing-a", [a1], Failure("Poison: a", NOW, "", 1))
    a2 = world.append("thing-a")

    def deliver_while_the_stream_moves_on(record: StreamRecord) -> BaseException | None:
        if (
            record is not None
            and world.lot.stream("thing-a")
            and not parked_versions(world.lot, "thing-a")[1:]
        ):
            assert world.deliver(a2) == []  # the live consumer parks a2 behind, mid-redrive
        return world.handler.consumer.deliver(record)

    [outcome] = redrive(world.lot, deliver_while_the_stream_moves_on)

    assert (outcome.delivered, outcome.released) == (2, True)
    assert world.row("a") == {"id": "a", "applied": [1, 2], "version": 2}
    assert world.lot.streams() == []


def test_redriving_a_stream_that_is_not_parked_says_so() -> None:
    with pytest.raises(NotParked, match="thing-z is not parked for ThingProjector"):
        redrive(InMemoryParkingLot(CONSUMER), lambda record: None, "thing-z")


def test_redrive_goes_through_every_parked_stream_in_order_of_its_id() -> None:
    world = World()
    b1, a1 = world.append("thing-b"), world.append("thing-a")
    failure = Failure("x", NOW)
    world.lot.park("thing-b", [b1], failure)
    world.lot.park("thing-a", [a1], failure)

    outcomes = redrive(world.lot, world.handler.consumer.deliver)

    assert [(o.stream_id, o.delivered, o.released) for o in outcomes] == [
        ("thing-a", 1, True),
        ("thing-b", 1, True),
    ]
