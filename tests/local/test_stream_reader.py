"""``StreamReader`` delivers each record once and never reads on over a stream whose history changed.

A fake DynamoDB Streams client behaves like moto's: an iterator holds the shard *object* it was
taken from, and a table's shard can be replaced by another whose records differ (what moto did
when it rolled back a transaction: docs/moto-transactions.md).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from local.aws.esm import StreamHistoryChanged, StreamReader

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/T/stream/1"
START = 1000


@dataclass
class Shard:
    records: list[dict[str, Any]] = field(default_factory=list)

    def copy(self) -> Shard:
        return Shard(list(self.records))


class FakeStreams:
    """Only what ``StreamReader`` calls. ``before_get_records`` runs between the two requests."""

    def __init__(self) -> None:
        self.shard = Shard()
        self._iterators: dict[str, tuple[Shard, int]] = {}
        self._ids = itertools.count(1)
        self.before_get_records: list[Callable[[], None]] = []

    # ----------------------------------------------------------------- the table's side
    def write(self, key: str) -> dict[str, Any]:
        sequence = START + len(self.shard.records)
        record = {
            "eventID": f"event-{next(self._ids)}",
            "eventName": "INSERT",
            "dynamodb": {"Keys": {"pk": {"S": key}}, "SequenceNumber": str(sequence)},
        }
        self.shard.records.append(record)
        return record

    def roll_back_like_moto(self, *phantoms: str) -> None:
        """Records written into the live shard, then a copy from before them becomes the table's."""
        saved = self.shard.copy()
        for key in phantoms:
            self.write(key)
        self.shard = saved

    # ----------------------------------------------------------------- the API (boto3's names)
    def describe_stream(self, **request: Any) -> dict[str, Any]:
        assert request == {"StreamArn": ARN}
        return {"StreamDescription": {"Shards": [{"ShardId": "shard-1"}]}}

    def get_shard_iterator(self, **request: Any) -> dict[str, Any]:
        assert (request["StreamArn"], request["ShardId"]) == (ARN, "shard-1")
        sequence = int(request.get("SequenceNumber", 0))
        position = {
            "TRIM_HORIZON": START,
            "LATEST": START + len(self.shard.records),
            "AT_SEQUENCE_NUMBER": sequence,
            "AFTER_SEQUENCE_NUMBER": sequence + 1,
        }[request["ShardIteratorType"]]
        iterator = f"iterator-{next(self._ids)}"
        self._iterators[iterator] = (self.shard, position)
        return {"ShardIterator": iterator}

    def get_records(self, **request: Any) -> dict[str, Any]:
        while self.before_get_records:
            self.before_get_records.pop(0)()
        shard, position = self._iterators[request["ShardIterator"]]
        start = position - START
        return {"Records": shard.records[start : start + request.get("Limit", 1000)]}


def keys(records: list[dict[str, Any]]) -> list[str]:
    return [r["dynamodb"]["Keys"]["pk"]["S"] for r in records]


def test_each_record_is_read_once_in_order() -> None:
    streams = FakeStreams()
    reader = StreamReader(streams, ARN)
    streams.write("a")
    streams.write("b")
    assert keys(reader.read()) == ["a", "b"]
    assert reader.read() == []
    streams.write("c")
    assert keys(reader.read()) == ["c"]
    assert keys(reader.read(limit=1)) == []


def test_the_limit_counts_new_records_only() -> None:
    streams = FakeStreams()
    reader = StreamReader(streams, ARN)
    for key in "abcde":
        streams.write(key)
    assert keys(reader.read(limit=2)) == ["a", "b"]
    assert keys(reader.read(limit=2)) == ["c", "d"]
    assert keys(reader.read(limit=2)) == ["e"]


def test_latest_starts_after_what_the_stream_holds() -> None:
    streams = FakeStreams()
    streams.write("old")
    reader = StreamReader(streams, ARN, "LATEST")
    streams.write("new")
    assert keys(reader.read()) == ["new"]


def test_records_of_a_rollback_between_iterator_and_records_are_not_delivered() -> None:
    """The iterator is taken from the live shard; before GetRecords a rollback swaps the shard:
    the old one holds the phantom, the new one later gives its sequence number to a real record."""
    streams = FakeStreams()
    reader = StreamReader(streams, ARN)
    streams.write("a")
    assert keys(reader.read()) == ["a"]

    streams.before_get_records.append(lambda: streams.roll_back_like_moto("phantom"))
    assert reader.read() == []
    streams.write("real")  # the phantom's sequence number, now naming another record

    assert keys(reader.read()) == ["real"]
    assert reader.discarded_reads == 1


def test_a_phantom_on_the_first_read_is_not_delivered_either() -> None:
    streams = FakeStreams()
    reader = StreamReader(streams, ARN)
    streams.before_get_records.append(lambda: streams.roll_back_like_moto("phantom"))
    assert reader.read() == []
    streams.write("real")
    assert keys(reader.read()) == ["real"]


def test_changed_history_under_delivered_records_stops_the_reader_loudly() -> None:
    streams = FakeStreams()
    reader = StreamReader(streams, ARN)
    streams.write("a")
    delivered = streams.write("b")
    assert keys(reader.read()) == ["a", "b"]

    streams.shard = Shard(streams.shard.records[:1])  # "b" is gone ...
    streams.write("c")  # ... and its sequence number names another record
    streams.write("d")

    for _ in range(2):  # it refuses to read on, every time, instead of skipping "c"
        with pytest.raises(StreamHistoryChanged) as raised:
            reader.read()
        message = str(raised.value)
        assert delivered["dynamodb"]["SequenceNumber"] in message
        assert delivered["eventID"] in message
        assert ARN in message


def test_a_delivered_record_that_vanished_stops_the_reader() -> None:
    streams = FakeStreams()
    reader = StreamReader(streams, ARN)
    streams.write("a")
    assert keys(reader.read()) == ["a"]
    streams.shard = Shard()
    with pytest.raises(StreamHistoryChanged):
        reader.read()
