"""One contract, every parking lot: in memory, and DynamoDB (a consumer's parked-records table of
template.yaml, on the moto server)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shop.operations.parking import (
    Failure,
    InMemoryParkingLot,
    ParkingLot,
    StreamBatchInfo,
)
from shop.operations.parking_dynamodb import CHUNK, DynamoDBParkingLot
from tests.support.tables import create_table

CONSUMER = "CatalogProjector"
FAILURE = Failure("Poison: product-1 v2", "2030-01-01T00:00:00.000000Z", "RetryAttemptsExhausted", 2)
BATCH = StreamBatchInfo(
    shardId="shardId-1",
    startSequenceNumber="100",
    endSequenceNumber="200",
    approximateArrivalOfFirstRecord="2030-01-01T00:00:00Z",
    approximateArrivalOfLastRecord="2030-01-01T00:00:01Z",
    batchSize=2,
    streamArn="arn:aws:dynamodb:us-east-1:123456789012:table/CatalogEventStore/stream/x",
)


@pytest.fixture(params=["memory", "dynamodb"])
def lot(request: pytest.FixtureRequest, template) -> Iterator[ParkingLot]:  # type: ignore[no-untyped-def]
    if request.param == "memory":
        yield InMemoryParkingLot(CONSUMER)
        return
    client = request.getfixturevalue("endpoint_dynamodb")
    yield DynamoDBParkingLot(client, create_table(client, template, "CatalogProjectorParked"), CONSUMER)


def record(stream_id: str, version: int, **image: Any) -> dict[str, Any]:
    """A stream record as Lambda delivers it (only what parking reads and keeps)."""
    keys = {"streamId": {"S": stream_id}, "version": {"N": str(version)}}
    return {
        "eventID": f"{stream_id}-{version}",
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "Keys": keys,
            "NewImage": {**keys, "eventTypes": {"SS": ["ProductPriceChanged"]}, **image},
            "SequenceNumber": f"{version:021d}",
            "ApproximateCreationDateTime": 1_790_000_000.0,
        },
    }


def versions(lot: ParkingLot, stream_id: str) -> list[int]:
    parked = lot.stream(stream_id)
    return [r.version for r in parked.records] if parked else []


def test_nothing_is_parked_at_first(lot: ParkingLot) -> None:
    assert lot.parked_streams() == frozenset()
    assert lot.streams() == []
    assert lot.stream("product-1") is None


def test_parking_opens_the_streams_entry_with_its_failure_and_keeps_the_records_as_delivered(
    lot: ParkingLot,
) -> None:
    delivered = [record("product-1", 3, events={"S": '[{"ü": "✓"}]'}), record("product-1", 2)]

    lot.park("product-1", delivered, FAILURE)

    assert lot.parked_streams() == {"product-1"}
    parked = lot.stream("product-1")
    assert parked is not None
    assert (parked.consumer, parked.stream_id, parked.failure, parked.added) == (
        CONSUMER,
        "product-1",
        FAILURE,
        2,
    )
    assert [r.version for r in parked.records] == [2, 3]
    assert [r.record for r in parked.records] == [delivered[1], delivered[0]]
    assert parked.records[0].sequence_number == f"{2:021d}"
    assert parked.records[0].event_types == ("ProductPriceChanged",)
    assert parked.last_redrive is None
    assert not parked.unresolved


def test_parking_a_parked_stream_again_keeps_its_first_failure_and_each_record_once(lot: ParkingLot) -> None:
    lot.park("product-1", [record("product-1", 2)], FAILURE)

    lot.park(
        "product-1",
        [record("product-1", 2), record("product-1", 4)],
        Failure("Other: x", "2031", "RecordAgeExceeded", 4),
    )

    parked = lot.stream("product-1")
    assert parked is not None
    assert parked.failure == FAILURE
    assert [r.version for r in parked.records] == [2, 4]
    assert parked.added == 3  # a count of parkings: any change shows


def test_parking_behind_needs_the_stream_to_be_parked(lot: ParkingLot) -> None:
    assert lot.park_behind("product-1", [record("product-1", 1)]) is False
    assert lot.streams() == []

    lot.park("product-1", [record("product-1", 1)], FAILURE)
    assert lot.park_behind("product-1", [record("product-1", 2), record("product-1", 3)]) is True

    assert versions(lot, "product-1") == [1, 2, 3]
    parked = lot.stream("product-1")
    assert parked is not None
    assert parked.added == 3


def test_more_records_than_one_transaction_holds_are_parked_in_order(lot: ParkingLot) -> None:
    lot.park("product-1", [record("product-1", 1)], FAILURE)
    many = [record("product-1", v) for v in range(2, CHUNK + 12)]

    assert lot.park_behind("product-1", many)

    assert versions(lot, "product-1") == list(range(1, CHUNK + 12))


def test_every_stream_is_listed_by_id_with_its_own_records(lot: ParkingLot) -> None:
    lot.park("stock-1", [record("stock-1", 5)], FAILURE)
    lot.park("product-1", [record("product-1", 2)], FAILURE)

    assert [(p.stream_id, [r.version for r in p.records]) for p in lot.streams()] == [
        ("product-1", [2]),
        ("stock-1", [5]),
    ]
    assert lot.parked_streams() == {"product-1", "stock-1"}


def test_an_unresolved_entry_is_listed_but_holds_no_stream_back(lot: ParkingLot) -> None:
    key = lot.park_unresolved(BATCH, FAILURE)
    assert lot.park_unresolved(BATCH, FAILURE) == key == "#unresolved/shardId-1/100"

    [entry] = lot.streams()
    assert entry.unresolved
    assert entry.stream_id == key
    assert entry.failure.error == FAILURE.error
    assert entry.batch == BATCH.model_dump(by_alias=True)
    assert entry.records == ()
    assert lot.parked_streams() == frozenset()


def test_a_redrive_removes_records_notes_where_it_stopped_and_releases_only_an_unchanged_stream(
    lot: ParkingLot,
) -> None:
    lot.park("product-1", [record("product-1", 1), record("product-1", 2)], FAILURE)
    seen = lot.stream("product-1")
    assert seen is not None

    lot.remove("product-1", 1)
    stopped = Failure("Poison: again", "2030-01-02T00:00:00.000000Z", "redrive", 2)
    lot.note_redrive("product-1", stopped)
    lot.note_redrive("product-9", stopped)  # not parked: nothing to note

    parked = lot.stream("product-1")
    assert parked is not None
    assert [r.version for r in parked.records] == [2]
    assert parked.last_redrive == stopped
    assert lot.stream("product-9") is None

    lot.remove("product-1", 2)
    assert lot.park_behind("product-1", [record("product-1", 3)])  # parked while the redrive ran
    assert lot.release("product-1", seen.added) is False  # so it is not released
    assert versions(lot, "product-1") == [3]
    assert lot.parked_streams() == {"product-1"}

    lot.remove("product-1", 3)
    current = lot.stream("product-1")
    assert current is not None
    assert lot.release("product-1", current.added) is True
    assert lot.stream("product-1") is None
    assert lot.parked_streams() == frozenset()
    assert lot.park_behind("product-1", [record("product-1", 4)]) is False


def test_releasing_a_stream_that_is_not_parked_is_a_no_op(lot: ParkingLot) -> None:
    lot.park("product-2", [record("product-2", 1)], FAILURE)

    assert lot.release("product-1", 0) is True
    assert lot.parked_streams() == {"product-2"}
