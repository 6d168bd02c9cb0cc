"""Event source mapping emulation for DynamoDB Streams: what Lambda's poller does, on one machine.

Honours the mapping's ``StartingPosition``, ``FilterCriteria``, ``BatchSize``,
``MaximumBatchingWindowInSeconds``, ``FunctionResponseTypes: [ReportBatchItemFailures]`` (resume
from the lowest failed sequence number), ``BisectBatchOnFunctionError`` (halve a failing batch
without spending a retry), ``MaximumRetryAttempts`` and ``MaximumRecordAgeInSeconds`` (-1: no
limit; otherwise then send the batch's metadata to the ``OnFailure`` destination and move on), and
``ParallelizationFactor`` (that many concurrent batches, each partition key always in the same one,
so per-item order holds). moto keeps one shard per table.

A throttled invocation (``Throttled``: the function's reserved concurrency refused it) is what AWS
documents for "before invocation" errors: the batch is retried, with a capped backoff, from the same
position, without spending a retry attempt and without bisecting, until the function may run or the
records pass ``MaximumRecordAgeInSeconds`` (then ``RecordAgeExceeded``). An SQS mapping leaves a
throttled batch in the queue.
"""

from __future__ import annotations

import json
import math
import threading
import time
import uuid
import zlib
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local.aws.filters import accepts
from local.aws.template import StreamSubscription


class FunctionError(Exception):
    """The function raised (Lambda reports ``functionError: Unhandled``)."""


class Throttled(Exception):
    """Lambda refused the invocation (``TooManyRequestsException``, 429): the event reached no function.

    Not a ``FunctionError``: an event source mapping retries it without spending a retry attempt or
    bisecting, and an HTTP API does not run the function at all.
    """

    #: ``TooManyRequestsException.Reason`` for a function at its reserved concurrency.
    REASON = "ReservedFunctionConcurrentInvocationLimitExceeded"

    def __init__(self, function: str, limit: int, retry_after: int = 1) -> None:
        super().__init__(f"{function} is at its reserved concurrency ({limit})")
        self.function = function
        self.limit = limit
        self.retry_after = retry_after


Invoke = Callable[[str, dict[str, Any]], Any]
SendFailure = Callable[[str, dict[str, Any]], None]
Log = Callable[[str], None]


@dataclass
class DeliveryStats:
    batches: int = 0
    records: int = 0
    failed_invocations: int = 0
    partial_failures: int = 0
    discarded: int = 0
    #: Invocations refused (``Throttled``): not batches, the function never saw them.
    throttled: int = 0


class StreamHistoryChanged(RuntimeError):
    """A record the reader delivered is no longer at its sequence number: the stream's history changed.

    DynamoDB never rewrites a stream; an emulator bug can (docs/moto-transactions.md). The reader then
    stays where it is rather than skip what now follows that sequence number.
    """


class StreamReader:
    """Reads a table's stream in order, each record once, never over changed history.

    Every read takes a fresh iterator at the last delivered record (moto's iterators hold the shard
    object they came from, which moto used to replace) and checks that this record is still the one
    delivered, by ``eventID``: if not, ``StreamHistoryChanged``. What follows is handed on only once
    the last of it has been read again through another fresh iterator: GetShardIterator and
    GetRecords are two requests, and a record read in between from a shard that has since been
    replaced is dropped (``discarded_reads``) and read again.
    """

    #: How long the shard list is trusted before it is described again.
    DESCRIBE_EVERY = 10.0
    #: DynamoDB's largest GetRecords page.
    MAX_LIMIT = 1000

    def __init__(self, client: Any, stream_arn: str, starting_position: str = "TRIM_HORIZON") -> None:
        self._client = client
        self.stream_arn = stream_arn
        #: The last record delivered from each shard: (sequence number, eventID).
        self._positions: dict[str, tuple[str, str]] = {}
        self.shard_id = ""
        self.discarded_reads = 0
        self._shards: list[dict[str, Any]] = []
        self._described_at = float("-inf")
        if starting_position == "LATEST":
            while self.read(limit=self.MAX_LIMIT - 1):
                pass

    def read(self, limit: int = 1000) -> list[dict[str, Any]]:
        if time.monotonic() - self._described_at > self.DESCRIBE_EVERY or not self._shards:
            description = self._client.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
            self._shards = description.get("Shards", [])
            self._described_at = time.monotonic()
        records: list[dict[str, Any]] = []
        for shard in self._shards:
            self.shard_id = shard["ShardId"]
            read = self._read_shard(self.shard_id, limit)
            if read:
                last = read[-1]
                self._positions[self.shard_id] = (last["dynamodb"]["SequenceNumber"], last["eventID"])
            records.extend(read)
        return records

    def _read_shard(self, shard_id: str, limit: int) -> list[dict[str, Any]]:
        position = self._positions.get(shard_id)
        if position is None:
            records = self._get(shard_id, limit, ShardIteratorType="TRIM_HORIZON")
        else:
            sequence, event_id = position
            records = self._get(
                shard_id,
                min(limit + 1, self.MAX_LIMIT),
                ShardIteratorType="AT_SEQUENCE_NUMBER",
                SequenceNumber=sequence,
            )
            found = records[0] if records else None
            if found is None or (found["dynamodb"]["SequenceNumber"], found["eventID"]) != position:
                raise StreamHistoryChanged(
                    f"{self.stream_arn} {shard_id}: sequence number {sequence} was record {event_id} when"
                    f" delivered, now {found['eventID'] if found else 'no record'}. Records delivered"
                    " from this stream were undone or replaced; not reading on (restart the local stack)."
                )
            records = records[1:]
        if records and not self._still_there(shard_id, records[-1]):
            self.discarded_reads += 1
            return []
        return records

    def _still_there(self, shard_id: str, record: Mapping[str, Any]) -> bool:
        sequence = record["dynamodb"]["SequenceNumber"]
        again = self._get(shard_id, 1, ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=sequence)
        return bool(again) and again[0]["eventID"] == record["eventID"]

    def _get(self, shard_id: str, limit: int, **position: str) -> list[dict[str, Any]]:
        iterator = self._client.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard_id, **position)
        records: list[dict[str, Any]] = self._client.get_records(
            ShardIterator=iterator["ShardIterator"], Limit=limit
        ).get("Records", [])
        return records


def lambda_record(record: Mapping[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A DynamoDB Streams ``GetRecords`` record in the shape Lambda delivers it."""
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = float(int(created.timestamp()))
    return {
        "eventID": record.get("eventID", uuid.uuid4().hex),
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


@dataclass
class _Lane:
    """One of ``ParallelizationFactor`` concurrent batches of a shard; a partition key always maps
    to the same lane, so records of one item (one event stream here) stay in order."""

    pending: deque[dict[str, Any]] = field(default_factory=deque)
    pending_since: float | None = None
    limit: int = 0
    attempts: int = 0
    #: Throttled tries of the batch at the head, since the function last ran (never a retry attempt).
    throttles: int = 0
    not_before: float = 0.0


def backoff(base: float, tries: int, cap: float) -> float:
    """``base`` doubled per try after the first, at most ``cap`` (also after thousands of tries)."""
    return min(base * 2 ** min(max(tries - 1, 0), 32), cap)


class EventSourceMapping:
    #: Longest wait between two tries of a failing batch (function error).
    RETRY_BACKOFF_CAP = 2.0
    #: Longest wait between two tries of a throttled batch; ``resume`` retries at once.
    THROTTLE_BACKOFF_CAP = 1.0
    #: Shortest wait after a throttle, even with no retry delay: a refused invocation is cheap, and
    #: a lane retried at once would spin.
    THROTTLE_BACKOFF_FLOOR = 0.01

    def __init__(
        self,
        subscription: StreamSubscription,
        reader: StreamReader,
        invoke: Invoke,
        send_failure: SendFailure,
        *,
        partition_key: str | None = None,
        max_parallelization: int | None = None,
        region: str = "us-east-1",
        retry_delay: float = 0.05,
        log: Log | None = None,
        clock: Callable[[], float] = time.time,
        iterator_age: Callable[[str, float], None] | None = None,
    ) -> None:
        self.subscription = subscription
        self.function = subscription.function
        self._reader = reader
        self._invoke = invoke
        self._send_failure = send_failure
        self._partition_key = partition_key
        self._region = region
        self._retry_delay = retry_delay
        self._log = log or (lambda _: None)
        self._clock = clock
        #: Told (function, milliseconds) after every invocation: Lambda's ``IteratorAge`` metric.
        self._iterator_age = iterator_age
        self.batch_size = int(subscription.setting("BatchSize", 100))
        self.window = float(subscription.setting("MaximumBatchingWindowInSeconds", 0))
        self.filters = (subscription.setting("FilterCriteria") or {}).get("Filters", [])
        self.report_item_failures = "ReportBatchItemFailures" in subscription.setting(
            "FunctionResponseTypes", []
        )
        self.bisect = bool(subscription.setting("BisectBatchOnFunctionError", False))
        self.max_retries = int(subscription.setting("MaximumRetryAttempts", -1))
        self.max_age = int(subscription.setting("MaximumRecordAgeInSeconds", -1))
        self.parallelization = int(subscription.setting("ParallelizationFactor", 1))
        if max_parallelization is not None:
            self.parallelization = min(self.parallelization, max_parallelization)
        destination = (subscription.setting("DestinationConfig") or {}).get("OnFailure", {})
        self.on_failure: str | None = destination.get("Destination")
        self._lanes = [_Lane(limit=self.batch_size) for _ in range(self.parallelization)]
        self._pool = ThreadPoolExecutor(self.parallelization) if self.parallelization > 1 else None
        self._stats_lock = threading.Lock()
        #: Guards the lanes' queues against the reader thread (``offer``) and the deliverers.
        self._lanes_lock = threading.Lock()
        self._in_flight: set[int] = set()
        self.stats = DeliveryStats()
        #: Set when new records arrive; a delivery loop can wait on it instead of sleeping.
        self.wakeup = threading.Event()

    @property
    def name(self) -> str:
        return f"[{self.subscription.table} -> {self.function}]"

    @property
    def idle(self) -> bool:
        with self._lanes_lock:
            return not self._in_flight and not any(lane.pending for lane in self._lanes)

    def poll(self) -> int:
        """Read new stream records from this mapping's own reader (see ``offer``)."""
        return self.offer(self._reader.read())

    def offer(self, raw_records: list[dict[str, Any]]) -> int:
        """Take records read from the stream; keep those the filter criteria accept.

        Consumers of one stream share one reader (as Lambda's pollers read a shard once per
        mapping, but a local reader need not repeat the requests); each mapping filters its copy.
        Returns how many were kept, and wakes a waiting deliverer if any.
        """
        kept = 0
        now = self._clock()
        for raw in raw_records:
            record = lambda_record(raw, self._reader.stream_arn, self._region)
            if accepts(self.filters, record):
                lane = self._lanes[self._lane_of(record)]
                with self._lanes_lock:
                    lane.pending.append(record)
                    if lane.pending_since is None:
                        lane.pending_since = now
                kept += 1
        if kept:
            self.wakeup.set()
        return kept

    def _lane_of(self, record: Mapping[str, Any]) -> int:
        if self.parallelization == 1:
            return 0
        keys = record["dynamodb"]["Keys"]
        key = keys.get(self._partition_key) if self._partition_key else next(iter(keys.values()))
        return zlib.crc32(json.dumps(key, sort_keys=True).encode()) % self.parallelization

    def deliver(self) -> bool:
        """Deliver one batch per lane that is due. True if any was invoked (or started).

        With ``ParallelizationFactor`` above 1 each lane runs on its own thread and is not waited
        for: a slow lane (a long retry) does not hold the others up, as in Lambda.
        """
        with self._lanes_lock:
            due = [i for i, lane in enumerate(self._lanes) if i not in self._in_flight and self._due(lane)]
            self._in_flight.update(due if self._pool is not None else ())
        if self._pool is None:
            delivered = [self._deliver(self._lanes[i]) for i in due]  # every due lane: no short-circuit
            return any(delivered)
        for index in due:
            self._pool.submit(self._deliver, self._lanes[index]).add_done_callback(
                lambda future, index=index: self._lane_done(index, future)
            )
        return bool(due)

    def _lane_done(self, index: int, future: Future[bool]) -> None:
        with self._lanes_lock:
            self._in_flight.discard(index)
        error = future.exception()
        if error is not None:
            self._log(f"{self.name} lane {index} failed: {type(error).__name__}: {error}")
        self.wakeup.set()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def _due(self, lane: _Lane) -> bool:
        now = self._clock()
        if not lane.pending or now < lane.not_before:
            return False
        full = len(lane.pending) >= self.batch_size
        waited = lane.pending_since is not None and now - lane.pending_since >= self.window
        retrying = bool(lane.attempts or lane.throttles)
        return full or waited or retrying or lane.limit < self.batch_size

    def resume(self) -> None:
        """Retry throttled lanes now, not after their backoff: the function's limit changed."""
        with self._lanes_lock:
            for lane in self._lanes:
                if lane.throttles:
                    lane.not_before = 0.0
        self.wakeup.set()

    def _deliver(self, lane: _Lane) -> bool:
        with self._lanes_lock:
            batch = [lane.pending[i] for i in range(min(lane.limit, len(lane.pending)))]
        started = time.perf_counter()
        try:
            result = self._invoke(self.function, {"Records": batch})
        except Throttled as error:
            self._throttled(lane, batch, error)
            return True
        except FunctionError as error:
            self._ran(lane, batch)
            self._report_age(batch)
            with self._stats_lock:
                self.stats.failed_invocations += 1
            self._failed(lane, batch, 0, f"function error: {error}", function_error=True)
            return True
        self._ran(lane, batch)
        self._report_age(batch)
        failed_at = self._first_failure(batch, result)
        if failed_at is None:
            elapsed = (time.perf_counter() - started) * 1000
            self._log(f"{self.name} {len(batch)} records delivered, {elapsed:.0f} ms")
            self._checkpoint(lane, len(batch))
        else:
            with self._stats_lock:
                self.stats.partial_failures += 1
            self._checkpoint(lane, failed_at)
            self._failed(
                lane, batch, failed_at, f"{len(batch) - failed_at} of {len(batch)} records reported failed"
            )
        return True

    def _ran(self, lane: _Lane, batch: list[dict[str, Any]]) -> None:
        """The function was invoked with ``batch`` (whatever it answered)."""
        with self._stats_lock:
            self.stats.batches += 1
            self.stats.records += len(batch)
        if lane.throttles:
            self._log(f"{self.name} invoked again after {lane.throttles} throttled tries")
            lane.throttles = 0

    def _throttled(self, lane: _Lane, batch: list[dict[str, Any]], error: Throttled) -> None:
        """The batch reached no function: same position, no retry attempt spent, no bisecting; only
        ``MaximumRecordAgeInSeconds`` gives the records up (AWS: "Before invocation ... it retries
        until the records expire or exceed the maximum age")."""
        with self._stats_lock:
            self.stats.throttled += 1
        lane.throttles += 1
        if self.max_age >= 0 and self._age(batch[0]) > self.max_age:
            self._give_up(lane, batch, "RecordAgeExceeded", f"throttled: {error}", function_error=False)
            return
        base = max(self._retry_delay, self.THROTTLE_BACKOFF_FLOOR)
        lane.not_before = self._clock() + backoff(base, lane.throttles, self.THROTTLE_BACKOFF_CAP)
        if lane.throttles == 1:
            self._log(f"{self.name} throttled ({error}); retrying from the same record")

    def _report_age(self, batch: list[dict[str, Any]]) -> None:
        """The age of the batch's last record, as Lambda publishes ``IteratorAge`` per invocation."""
        if self._iterator_age is None or not batch:
            return
        try:
            self._iterator_age(self.function, 1000 * self._age(batch[-1]))
        except Exception as error:  # a metric must never stop delivery
            self._log(f"{self.name} IteratorAge not published: {type(error).__name__}: {error}")

    def _first_failure(self, batch: list[dict[str, Any]], result: Any) -> int | None:
        """Index in ``batch`` to resume from, or None when the whole batch succeeded."""
        if not self.report_item_failures or not isinstance(result, Mapping):
            return None
        failures = result.get("batchItemFailures") or []
        if not failures:
            return None
        positions = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(batch)}
        indexes = [
            positions.get(f.get("itemIdentifier")) if isinstance(f, Mapping) else None for f in failures
        ]
        if any(index is None for index in indexes):
            return 0  # an unknown or empty identifier fails the whole batch
        return min(i for i in indexes if i is not None)

    def _checkpoint(self, lane: _Lane, count: int) -> None:
        with self._lanes_lock:
            for _ in range(count):
                lane.pending.popleft()
            if count:
                lane.attempts = 0
                lane.limit = self.batch_size
            lane.pending_since = self._clock() if lane.pending else None

    def _failed(
        self,
        lane: _Lane,
        batch: list[dict[str, Any]],
        start: int,
        reason: str,
        *,
        function_error: bool = False,
    ) -> None:
        retried = batch[start:]
        if function_error and self.bisect and len(retried) > 1:
            lane.limit = math.ceil(len(retried) / 2)  # bisecting does not spend a retry
            self._log(f"{self.name} {reason}; bisecting to {lane.limit} records")
            return
        lane.attempts += 1
        condition = None
        if self.max_retries >= 0 and lane.attempts > self.max_retries:
            condition = "RetryAttemptsExhausted"
        elif self.max_age >= 0 and self._age(retried[0]) > self.max_age:
            condition = "RecordAgeExceeded"
        if condition is None:
            lane.limit = len(retried) if function_error else self.batch_size
            delay = backoff(self._retry_delay, lane.attempts, self.RETRY_BACKOFF_CAP)
            lane.not_before = self._clock() + delay
            self._log(f"{self.name} {reason}; retry {lane.attempts}")
            return
        self._give_up(lane, retried, condition, reason, function_error=function_error)

    def _give_up(
        self, lane: _Lane, records: list[dict[str, Any]], condition: str, reason: str, *, function_error: bool
    ) -> None:
        """Lambda's discard: the batch's metadata to the on-failure destination, the shard moves on."""
        self._log(f"{self.name} {reason}; {condition}, {len(records)} records to the on-failure queue")
        if self.on_failure:
            throttled = bool(lane.throttles)
            message = self._failure_message(
                records, condition, lane.attempts, function_error=function_error, throttled=throttled
            )
            self._send_failure(self.on_failure, message)
        with self._stats_lock:
            self.stats.discarded += len(records)
        lane.throttles = 0
        self._checkpoint(lane, len(records))

    def _age(self, record: Mapping[str, Any]) -> float:
        created = record["dynamodb"].get("ApproximateCreationDateTime")
        return self._clock() - float(created) if created is not None else 0.0

    def _failure_message(
        self,
        records: list[dict[str, Any]],
        condition: str,
        attempts: int,
        *,
        function_error: bool,
        throttled: bool = False,
    ) -> dict[str, Any]:
        """Lambda's invocation record. Given up while throttled (no function response exists; AWS
        does not document this case): ``approximateInvokeCount`` the invocations that did run, and
        ``responseContext`` the throttle's 429 alone."""

        def arrival(record: Mapping[str, Any]) -> str:
            created = float(record["dynamodb"].get("ApproximateCreationDateTime", self._clock()))
            return datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        return {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{self._region}:123456789012:function:{self.function}",
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            # A partial batch failure is no function error: Lambda names one only when the function raised.
            "responseContext": (
                {"statusCode": 429}
                if throttled
                else {
                    "statusCode": 200,
                    "executedVersion": "$LATEST",
                    **({"functionError": "Unhandled"} if function_error else {}),
                }
            ),
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "DDBStreamBatchInfo": {
                "shardId": self._reader.shard_id,
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": arrival(records[0]),
                "approximateArrivalOfLastRecord": arrival(records[-1]),
                "batchSize": len(records),
                "streamArn": self._reader.stream_arn,
            },
        }


# ---------------------------------------------------------------------- SQS
@dataclass
class QueueStats:
    batches: int = 0
    messages: int = 0
    failed_invocations: int = 0
    returned: int = 0  # messages left in the queue for another delivery
    #: Invocations refused (``Throttled``): the messages stay in the queue, unseen by the function.
    throttled: int = 0


def sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """An SQS ``ReceiveMessage`` message in the shape Lambda delivers it (``Records[]`` of an SQS event)."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": dict(message.get("MessageAttributes", {})),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class QueueEventSourceMapping:
    """What Lambda's SQS poller does for a ``Type: SQS`` event: receive up to ``BatchSize`` messages,
    invoke the function with them, delete those that succeeded (with ``FunctionResponseTypes:
    [ReportBatchItemFailures]``, all but the ``batchItemFailures``; otherwise all, or none if the
    function raised). A message left in the queue is received again once its visibility timeout
    has passed: locally ``visibility`` seconds (1), not the queue's ``VisibilityTimeout``, so a
    retry comes within seconds. ``ScalingConfig`` needs no emulation: one deliverer per mapping.
    """

    def __init__(
        self,
        subscription: Any,
        client: Any,
        queue_url: str,
        queue_arn: str,
        invoke: Invoke,
        *,
        region: str = "us-east-1",
        visibility: int = 1,
        log: Log | None = None,
    ) -> None:
        self.subscription = subscription
        self.function: str = subscription.function
        self._client = client
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self._invoke = invoke
        self._region = region
        self._visibility = visibility
        self._log = log or (lambda _: None)
        self.batch_size = min(int(subscription.setting("BatchSize", 10)), 10)
        self.report_item_failures = "ReportBatchItemFailures" in subscription.setting(
            "FunctionResponseTypes", []
        )
        self.stats = QueueStats()
        self._busy = threading.Lock()
        #: Set when a message is sent to the queue (the stack's on-failure sends): deliver now.
        self.wakeup = threading.Event()
        # Lambda reads the queue's attributes when the mapping is created (with the function's role).
        self._client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["VisibilityTimeout"])

    @property
    def name(self) -> str:
        return f"[{self.queue_url.rsplit('/', 1)[-1]} -> {self.function}]"

    @property
    def idle(self) -> bool:
        """Not delivering now (messages waiting in the queue are only known by receiving them)."""
        return not self._busy.locked()

    def deliver(self) -> bool:
        """Receive one batch and invoke the function with it; True if there was a batch."""
        with self._busy:
            messages = self._client.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=self.batch_size,
                VisibilityTimeout=self._visibility,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                return False
            try:
                result = self._invoke(
                    self.function,
                    {"Records": [sqs_record(m, self.queue_arn, self._region) for m in messages]},
                )
            except Throttled as error:
                self.stats.throttled += 1
                self._log(f"{self.name} throttled ({error}); {len(messages)} messages stay in the queue")
                return True
            except FunctionError as error:
                self._ran(messages)
                self.stats.failed_invocations += 1
                self.stats.returned += len(messages)
                self._log(f"{self.name} function error: {error}; {len(messages)} messages stay in the queue")
                return True
            self._ran(messages)
            failed = self._failed(messages, result)
            for message in messages:
                if message["MessageId"] not in failed:
                    self._client.delete_message(
                        QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                    )
            self.stats.returned += len(failed)
            self._log(f"{self.name} {len(messages) - len(failed)} of {len(messages)} messages handled")
            return True

    def _ran(self, messages: list[dict[str, Any]]) -> None:
        self.stats.batches += 1
        self.stats.messages += len(messages)

    def _failed(self, messages: list[dict[str, Any]], result: Any) -> set[str]:
        if not self.report_item_failures or not isinstance(result, Mapping):
            return set()
        failures = result.get("batchItemFailures") or []
        ids = {m["MessageId"] for m in messages}
        named = {f.get("itemIdentifier") for f in failures if isinstance(f, Mapping)}
        if not named <= ids:  # an unknown or empty identifier fails the whole batch
            return ids
        return {str(i) for i in named}
