"""Event source mapping emulation for DynamoDB Streams: what Lambda's poller does, on one machine.

Honours the mapping's ``StartingPosition``, ``FilterCriteria``, ``BatchSize``,
``MaximumBatchingWindowInSeconds``, ``FunctionResponseTypes: [ReportBatchItemFailures]`` (resume
from the lowest failed sequence number), ``BisectBatchOnFunctionError`` (halve a failing batch
without spending a retry), ``MaximumRetryAttempts`` and ``MaximumRecordAgeInSeconds`` (then send
the batch's metadata to the ``OnFailure`` destination and move on). One shard, in order, as moto
keeps one shard per table.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from local.filters import accepts
from local.template import StreamSubscription


class FunctionError(Exception):
    """The function raised (Lambda reports ``functionError: Unhandled``)."""


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


class StreamReader:
    """Reads a table's stream in order with a fresh iterator each time (robust to moto's shard swaps)."""

    def __init__(self, client: Any, stream_arn: str, starting_position: str = "TRIM_HORIZON") -> None:
        self._client = client
        self.stream_arn = stream_arn
        self._last: str | None = None
        self.shard_id = ""
        if starting_position == "LATEST":
            for record in self._read(limit=10_000):
                self._last = record["dynamodb"]["SequenceNumber"]

    def _read(self, limit: int) -> list[dict[str, Any]]:
        description = self._client.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        records: list[dict[str, Any]] = []
        for shard in description.get("Shards", []):
            self.shard_id = shard["ShardId"]
            if self._last is None:
                iterator_args = {"ShardIteratorType": "TRIM_HORIZON"}
            else:
                iterator_args = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self._last}
            iterator = self._client.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard["ShardId"], **iterator_args
            )["ShardIterator"]
            records.extend(self._client.get_records(ShardIterator=iterator, Limit=limit).get("Records", []))
        return records

    def read(self, limit: int = 1000) -> list[dict[str, Any]]:
        records = self._read(limit)
        if records:
            self._last = records[-1]["dynamodb"]["SequenceNumber"]
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


class EventSourceMapping:
    def __init__(
        self,
        subscription: StreamSubscription,
        reader: StreamReader,
        invoke: Invoke,
        send_failure: SendFailure,
        *,
        region: str = "us-east-1",
        retry_delay: float = 0.05,
        log: Log | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.subscription = subscription
        self.function = subscription.function
        self._reader = reader
        self._invoke = invoke
        self._send_failure = send_failure
        self._region = region
        self._retry_delay = retry_delay
        self._log = log or (lambda _: None)
        self._clock = clock
        self.batch_size = int(subscription.setting("BatchSize", 100))
        self.window = float(subscription.setting("MaximumBatchingWindowInSeconds", 0))
        self.filters = (subscription.setting("FilterCriteria") or {}).get("Filters", [])
        self.report_item_failures = "ReportBatchItemFailures" in subscription.setting(
            "FunctionResponseTypes", []
        )
        self.bisect = bool(subscription.setting("BisectBatchOnFunctionError", False))
        self.max_retries = int(subscription.setting("MaximumRetryAttempts", -1))
        self.max_age = int(subscription.setting("MaximumRecordAgeInSeconds", -1))
        destination = (subscription.setting("DestinationConfig") or {}).get("OnFailure", {})
        self.on_failure: str | None = destination.get("Destination")
        self._pending: deque[dict[str, Any]] = deque()
        self._pending_since: float | None = None
        self._limit = self.batch_size
        self._attempts = 0
        self._not_before = 0.0
        self.stats = DeliveryStats()

    @property
    def name(self) -> str:
        return f"[{self.subscription.table} -> {self.function}]"

    @property
    def idle(self) -> bool:
        return not self._pending

    def poll(self) -> int:
        """Read new stream records; keep those the filter criteria accept. Returns how many were kept."""
        kept = 0
        for raw in self._reader.read():
            record = lambda_record(raw, self._reader.stream_arn, self._region)
            if accepts(self.filters, record):
                self._pending.append(record)
                kept += 1
        if kept and self._pending_since is None:
            self._pending_since = self._clock()
        return kept

    def deliver(self) -> bool:
        """Deliver one batch if one is due. Returns True if the function was invoked."""
        now = self._clock()
        if not self._pending or now < self._not_before:
            return False
        full = len(self._pending) >= self.batch_size
        waited = self._pending_since is not None and now - self._pending_since >= self.window
        if not (full or waited or self._attempts or self._limit < self.batch_size):
            return False
        batch = [self._pending[i] for i in range(min(self._limit, len(self._pending)))]
        self.stats.batches += 1
        self.stats.records += len(batch)
        started = time.perf_counter()
        try:
            result = self._invoke(self.function, {"Records": batch})
        except FunctionError as error:
            self.stats.failed_invocations += 1
            self._failed(batch, 0, f"function error: {error}", function_error=True)
            return True
        failed_at = self._first_failure(batch, result)
        if failed_at is None:
            elapsed = (time.perf_counter() - started) * 1000
            self._log(f"{self.name} {len(batch)} records delivered, {elapsed:.0f} ms")
            self._checkpoint(len(batch))
        else:
            self.stats.partial_failures += 1
            self._checkpoint(failed_at)
            self._failed(
                batch, failed_at, f"{len(batch) - failed_at} of {len(batch)} records reported failed"
            )
        return True

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

    def _checkpoint(self, count: int) -> None:
        for _ in range(count):
            self._pending.popleft()
        if count:
            self._attempts = 0
            self._limit = self.batch_size
        self._pending_since = self._clock() if self._pending else None

    def _failed(
        self, batch: list[dict[str, Any]], start: int, reason: str, *, function_error: bool = False
    ) -> None:
        retried = batch[start:]
        if function_error and self.bisect and len(retried) > 1:
            self._limit = math.ceil(len(retried) / 2)  # bisecting does not spend a retry
            self._log(f"{self.name} {reason}; bisecting to {self._limit} records")
            return
        self._attempts += 1
        condition = None
        if self.max_retries >= 0 and self._attempts > self.max_retries:
            condition = "RetryAttemptsExhausted"
        elif self.max_age >= 0 and self._age(retried[0]) > self.max_age:
            condition = "RecordAgeExceeded"
        if condition is None:
            self._limit = len(retried) if function_error else self.batch_size
            self._not_before = self._clock() + min(self._retry_delay * 2 ** (self._attempts - 1), 2.0)
            self._log(f"{self.name} {reason}; retry {self._attempts}")
            return
        self._log(f"{self.name} {reason}; {condition}, {len(retried)} records to the on-failure queue")
        if self.on_failure:
            self._send_failure(
                self.on_failure, self._failure_message(retried, condition, function_error=function_error)
            )
        self.stats.discarded += len(retried)
        self._checkpoint(len(retried))

    def _age(self, record: Mapping[str, Any]) -> float:
        created = record["dynamodb"].get("ApproximateCreationDateTime")
        return self._clock() - float(created) if created is not None else 0.0

    def _failure_message(
        self, records: list[dict[str, Any]], condition: str, *, function_error: bool
    ) -> dict[str, Any]:
        def arrival(record: Mapping[str, Any]) -> str:
            created = float(record["dynamodb"].get("ApproximateCreationDateTime", self._clock()))
            return datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        return {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{self._region}:123456789012:function:{self.function}",
                "condition": condition,
                "approximateInvokeCount": self._attempts,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled" if function_error else None,
            },
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


def failure_message_body(message: Mapping[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))
