"""Parking and redrive: the records a stream consumer gave up on, kept in order until the cause is fixed.

When Lambda gives up on a batch of stream records (``MaximumRetryAttempts`` spent, or older than
``MaximumRecordAgeInSeconds``), it sends the mapping's ``OnFailure`` queue a record that names the
batch only by shard and sequence numbers (``OnFailureRecord``). The consumer's own function reads
that queue (its ``ParkFailures`` SQS event) and the ``Parker`` turns the record into *parked*
records:

1. it reads the batch's records back from the stream, at those sequence numbers (``NewImage`` is the
   event store's commit item itself: the store's stream is ``NEW_IMAGE`` and commits never change);
   if the stream no longer holds them (24 h), it parks what the on-failure record says instead;
2. it hands the records the consumer handles to the consumer's batch code once more (the same code
   Lambda ran): a stream whose records now succeed (the cause was transient, or the records of
   other streams only shared the failed batch) is done; a stream that fails again is parked with
   its error, from its first failing record on.

Once a stream is parked, the consumer's batches park its later records behind it instead of
applying them (``ParkingLot.parked_streams`` is one read per batch), so one poison event never
makes the consumer apply that stream out of order, while every other stream keeps flowing.

``redrive`` delivers a parked stream's records again, in version order, through the consumer's
batch code, once the cause is fixed: each record that succeeds is removed, the first that fails
stops the stream (it and the records behind it stay parked, with the new error), and a stream with
nothing left is released in one conditional write that fails if anything was parked meanwhile
(``ParkedStream.added`` counts every record ever parked), so no record parked during a redrive is
left behind and none is applied out of order.

The port (``ParkingLot``) has two implementations with one contract: ``InMemoryParkingLot`` here,
``shop.operations.parking_dynamodb.DynamoDBParkingLot`` for a consumer's parked-records table.
docs/parking.md explains the choices (where the parker runs, the race it closes, the costs).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from shop.eventstore.model import format_timestamp, utc_now

#: A DynamoDB Streams record as Lambda delivers it (``eventName``, ``dynamodb.Keys``,
#: ``dynamodb.NewImage``, ``dynamodb.SequenceNumber`` ...).
StreamRecord = Mapping[str, Any]

#: What an error message is cut to in a parked entry.
ERROR_LENGTH = 1000

#: Where stream ids of unresolved entries start (no event stream id starts with ``#``).
UNRESOLVED_PREFIX = "#unresolved/"


# ---------------------------------------------------------------------- the on-failure record
class _Model(BaseModel):
    #: ``defer_build``: only the on-failure path reads these; a stream batch never does (cold start).
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True, defer_build=True)


class StreamBatchInfo(_Model):
    """``DDBStreamBatchInfo``: which records of which stream Lambda gave up on."""

    shard_id: str = Field(alias="shardId")
    start_sequence_number: str = Field(alias="startSequenceNumber")
    end_sequence_number: str = Field(alias="endSequenceNumber")
    approximate_arrival_of_first_record: str = Field("", alias="approximateArrivalOfFirstRecord")
    approximate_arrival_of_last_record: str = Field("", alias="approximateArrivalOfLastRecord")
    batch_size: int = Field(alias="batchSize")
    stream_arn: str = Field(alias="streamArn")


class FailureContext(_Model):
    request_id: str = Field("", alias="requestId")
    function_arn: str = Field("", alias="functionArn")
    condition: str
    approximate_invoke_count: int = Field(0, alias="approximateInvokeCount")


class OnFailureRecord(_Model):
    """What Lambda sends a DynamoDB event source mapping's ``OnFailure`` destination (the AWS Lambda
    Developer Guide, "Retain discarded records for a DynamoDB event source"): metadata only."""

    request_context: FailureContext = Field(alias="requestContext")
    timestamp: str = ""
    batch: StreamBatchInfo = Field(alias="DDBStreamBatchInfo")

    @property
    def condition(self) -> str:
        return self.request_context.condition


# ---------------------------------------------------------------------- parked records
@dataclass(frozen=True, slots=True)
class Failure:
    """Why a stream is parked, or where a redrive stopped: the error, when, and at which record."""

    error: str
    at: str
    condition: str = ""  # the on-failure record's (RetryAttemptsExhausted, RecordAgeExceeded), or "redrive"
    version: int = 0  # the first record that failed (0: unknown)


def describe(error: BaseException) -> str:
    """``Type: message``, cut to ``ERROR_LENGTH``."""
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= ERROR_LENGTH else text[: ERROR_LENGTH - 1] + "…"


def stream_id_of(record: StreamRecord) -> str:
    return str(record["dynamodb"]["Keys"]["streamId"]["S"])


def version_of(record: StreamRecord) -> int:
    return int(record["dynamodb"]["Keys"]["version"]["N"])


@dataclass(frozen=True, slots=True)
class ParkedRecord:
    stream_id: str
    version: int
    record: StreamRecord  # as Lambda delivered it: redrive delivers it again as it was
    parked_at: str

    @property
    def sequence_number(self) -> str:
        return str(self.record["dynamodb"].get("SequenceNumber", ""))

    @property
    def event_types(self) -> tuple[str, ...]:
        image = self.record["dynamodb"].get("NewImage", {})
        return tuple(sorted(image.get("eventTypes", {}).get("SS", [])))


@dataclass(frozen=True, slots=True)
class ParkedStream:
    """A source stream parked for one consumer: why, and its parked records in version order.

    An *unresolved* entry (``stream_id`` starting ``#unresolved/``) stands for an on-failure record
    whose records had left the stream before they could be read: ``batch`` is all that is known."""

    consumer: str
    stream_id: str
    failure: Failure
    added: int  # records ever parked here: a redrive releases the stream only if this did not change
    records: tuple[ParkedRecord, ...] = ()
    last_redrive: Failure | None = None
    batch: Mapping[str, Any] | None = None

    @property
    def unresolved(self) -> bool:
        return self.stream_id.startswith(UNRESOLVED_PREFIX)


def unresolved_id(batch: StreamBatchInfo) -> str:
    return f"{UNRESOLVED_PREFIX}{batch.shard_id}/{batch.start_sequence_number}"


class NotParked(LookupError):
    """The stream is not parked for this consumer."""


class Unresolvable(ValueError):
    """An unresolved entry: its records left the stream, so there is nothing to deliver again."""


class ParkingLot(Protocol):
    """One consumer's parked records."""

    consumer: str

    def parked_streams(self) -> frozenset[str]:
        """The source streams parked for this consumer (unresolved entries are not streams): one read."""
        ...

    def park(self, stream_id: str, records: Sequence[StreamRecord], failure: Failure) -> None:
        """Park ``records`` of a stream the consumer gave up on; the stream's entry (``failure``) is
        opened if it is not parked yet, else kept as it is. A record parked again is kept once."""
        ...

    def park_behind(self, stream_id: str, records: Sequence[StreamRecord]) -> bool:
        """Park later records behind a parked stream. False, and nothing written, if the stream is
        not (or no longer) parked: the caller then applies them itself."""
        ...

    def park_unresolved(self, batch: StreamBatchInfo, failure: Failure) -> str:
        """Keep what an on-failure record says whose records could not be read; its id."""
        ...

    def stream(self, stream_id: str) -> ParkedStream | None:
        """The stream's entry and its records in version order (read consistently)."""
        ...

    def streams(self) -> list[ParkedStream]:
        """Every entry, each with its records, in stream id order."""
        ...

    def remove(self, stream_id: str, version: int) -> None:
        """Forget a parked record (it was delivered)."""
        ...

    def note_redrive(self, stream_id: str, failure: Failure) -> None:
        """Record where a redrive of the stream stopped."""
        ...

    def release(self, stream_id: str, added: int) -> bool:
        """Close the stream's entry if ``added`` is still its count of parked records; False if
        records were parked meanwhile (nothing changes then)."""
        ...


# ---------------------------------------------------------------------- in memory
@dataclass
class _Entry:
    failure: Failure
    added: int = 0
    records: dict[int, ParkedRecord] = field(default_factory=dict)
    last_redrive: Failure | None = None
    batch: Mapping[str, Any] | None = None


class InMemoryParkingLot:
    """The reference behaviour of ``ParkingLot``, for tests."""

    def __init__(self, consumer: str, now: Callable[[], str] | None = None) -> None:
        self.consumer = consumer
        self._now = now or (lambda: format_timestamp(utc_now()))
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        #: How many times ``parked_streams`` was asked (the batches' one read each).
        self.reads = 0

    def parked_streams(self) -> frozenset[str]:
        with self._lock:
            self.reads += 1
            return frozenset(s for s in self._entries if not s.startswith(UNRESOLVED_PREFIX))

    def park(self, stream_id: str, records: Sequence[StreamRecord], failure: Failure) -> None:
        with self._lock:
            entry = self._entries.setdefault(stream_id, _Entry(failure))
            self._add(entry, stream_id, records)

    def park_behind(self, stream_id: str, records: Sequence[StreamRecord]) -> bool:
        with self._lock:
            entry = self._entries.get(stream_id)
            if entry is None:
                return False
            self._add(entry, stream_id, records)
            return True

    def _add(self, entry: _Entry, stream_id: str, records: Sequence[StreamRecord]) -> None:
        at = self._now()
        for record in records:
            version = version_of(record)
            entry.records[version] = ParkedRecord(stream_id, version, copy.deepcopy(record), at)
        entry.added += len(records)

    def park_unresolved(self, batch: StreamBatchInfo, failure: Failure) -> str:
        with self._lock:
            key = unresolved_id(batch)
            self._entries.setdefault(key, _Entry(failure, batch=batch.model_dump(by_alias=True)))
            return key

    def stream(self, stream_id: str) -> ParkedStream | None:
        with self._lock:
            entry = self._entries.get(stream_id)
            return self._view(stream_id, entry) if entry is not None else None

    def streams(self) -> list[ParkedStream]:
        with self._lock:
            return [self._view(s, e) for s, e in sorted(self._entries.items())]

    def _view(self, stream_id: str, entry: _Entry) -> ParkedStream:
        return ParkedStream(
            self.consumer,
            stream_id,
            entry.failure,
            entry.added,
            tuple(entry.records[v] for v in sorted(entry.records)),
            entry.last_redrive,
            entry.batch,
        )

    def remove(self, stream_id: str, version: int) -> None:
        with self._lock:
            entry = self._entries.get(stream_id)
            if entry is not None:
                entry.records.pop(version, None)

    def note_redrive(self, stream_id: str, failure: Failure) -> None:
        with self._lock:
            entry = self._entries.get(stream_id)
            if entry is not None:
                entry.last_redrive = failure

    def release(self, stream_id: str, added: int) -> bool:
        with self._lock:
            entry = self._entries.get(stream_id)
            if entry is None:
                return True
            if entry.added != added:
                return False
            del self._entries[stream_id]
            return True


# ---------------------------------------------------------------------- the parker
@dataclass(frozen=True, slots=True)
class StreamFailure:
    """A stream's records that failed in a batch, and the error of the first of them."""

    records: tuple[StreamRecord, ...]
    error: BaseException


#: Reads the records an on-failure record names back from the stream; None if they are gone.
ReadBatch = Callable[[StreamBatchInfo], "list[StreamRecord] | None"]
#: Runs records through the consumer's batch code (parked streams park behind); the failed streams.
RunBatch = Callable[[Sequence[StreamRecord]], Mapping[str, StreamFailure]]


@dataclass(frozen=True, slots=True)
class Parked:
    """What the parker did with one on-failure record."""

    streams: tuple[str, ...]  # parked (or parked further)
    settled: int  # records that succeeded when tried once more (or were parked behind their stream)
    unresolved: str | None = None
    records: int = 0  # records parked here (``RecordsParked``)


class Parker:
    """Turns on-failure records into parked records (see the module docstring)."""

    def __init__(
        self,
        lot: ParkingLot,
        read_batch: ReadBatch,
        run_batch: RunBatch,
        concerns: Callable[[StreamRecord], bool],
        now: Callable[[], str] | None = None,
    ) -> None:
        self._lot = lot
        self._read_batch = read_batch
        self._run_batch = run_batch
        self._concerns = concerns
        self._now = now or (lambda: format_timestamp(utc_now()))

    def park(self, message: OnFailureRecord) -> Parked:
        records = self._read_batch(message.batch)
        if records is None:
            failure = Failure(
                "the records left the stream before they could be read", self._now(), message.condition
            )
            return Parked((), 0, self._lot.park_unresolved(message.batch, failure))
        handled = [record for record in records if self._concerns(record)]
        failed = self._run_batch(handled)
        at = self._now()
        for stream_id, stream_failure in sorted(failed.items()):
            first = min(version_of(record) for record in stream_failure.records)
            failure = Failure(describe(stream_failure.error), at, message.condition, first)
            self._lot.park(stream_id, stream_failure.records, failure)
        parked = sum(len(f.records) for f in failed.values())
        return Parked(tuple(sorted(failed)), len(handled) - parked, records=parked)


# ---------------------------------------------------------------------- redrive
#: Delivers one parked record through the consumer's batch code (no parking check); its error.
Deliver = Callable[[StreamRecord], "BaseException | None"]


@dataclass(frozen=True, slots=True)
class Redriven:
    """The outcome of redriving one stream."""

    stream_id: str
    delivered: int  # records delivered and removed
    remaining: int  # records still parked
    stopped: Failure | None = None  # the record that failed again, if any

    @property
    def released(self) -> bool:
        return self.stopped is None and self.remaining == 0


def redrive(
    lot: ParkingLot,
    deliver: Deliver,
    stream_id: str | None = None,
    *,
    progress: Callable[[ParkedRecord], None] | None = None,
    now: Callable[[], str] | None = None,
) -> list[Redriven]:
    """Deliver the parked records of ``stream_id`` (every parked stream if None) again, in order.

    Raises ``NotParked`` for a ``stream_id`` that is not parked, ``Unresolvable`` for an unresolved
    entry named by id (every-stream redrive leaves those alone: ``shopctl parked`` lists them).
    """
    clock = now or (lambda: format_timestamp(utc_now()))
    if stream_id is not None:
        found = lot.stream(stream_id)
        if found is None:
            raise NotParked(f"{stream_id} is not parked for {lot.consumer}")
        if found.unresolved:
            raise Unresolvable(f"{stream_id}: its records left the stream; there is nothing to deliver again")
        stream_ids = [stream_id]
    else:
        stream_ids = sorted(lot.parked_streams())
    return [_redrive_stream(lot, deliver, s, progress, clock) for s in stream_ids]


def _redrive_stream(
    lot: ParkingLot,
    deliver: Deliver,
    stream_id: str,
    progress: Callable[[ParkedRecord], None] | None,
    clock: Callable[[], str],
) -> Redriven:
    delivered = 0
    while True:
        parked = lot.stream(stream_id)  # its count first, then its records: see ``release``
        if parked is None:
            return Redriven(stream_id, delivered, 0)
        for index, record in enumerate(parked.records):
            error = deliver(record.record)
            if error is not None:
                stopped = Failure(describe(error), clock(), "redrive", record.version)
                lot.note_redrive(stream_id, stopped)
                return Redriven(stream_id, delivered, len(parked.records) - index, stopped)
            lot.remove(stream_id, record.version)
            delivered += 1
            if progress is not None:
                progress(record)
        if lot.release(stream_id, parked.added):
            return Redriven(stream_id, delivered, 0)
