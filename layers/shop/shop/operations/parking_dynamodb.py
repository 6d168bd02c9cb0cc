"""A consumer's parked records in DynamoDB, and the stream records an on-failure record names.

One table per stream consumer (``<Consumer>Parked`` in template.yaml), keyed like the event stores
(``streamId`` S, ``version`` N):

=======================  ==========================================================================
``#parked``, 0           the *index*: ``streams`` (SS), every parked stream. The one item a batch
                         reads (``parked_streams``: one consistent ``GetItem``, 1 RCU while small)
``<streamId>``, 0        the stream's *entry*: ``consumer``, ``parkedAt``, ``failedCondition``,
                         ``error``, ``failedVersion``, ``added`` (records ever parked: the release
                         condition), ``lastRedriveAt`` / ``lastRedriveVersion`` / ``lastRedriveError``
``<streamId>``, version  a parked *record* (version of its commit's first event): ``parkedAt``,
                         ``record`` (the stream record as Lambda delivered it, JSON)
``#unresolved/...``, 0   an on-failure record whose records had left the stream: ``batch`` (JSON)
=======================  ==========================================================================

Opening an entry, parking records and releasing a stream are transactions over the index, the
entry and the records, so the index names exactly the streams that have an entry.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self

from botocore.exceptions import ClientError

from shop import ddb
from shop.eventstore.model import format_timestamp, utc_now
from shop.operations.parking import (
    UNRESOLVED_PREFIX,
    Failure,
    ParkedRecord,
    ParkedStream,
    StreamBatchInfo,
    StreamRecord,
    unresolved_id,
    version_of,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient

INDEX_ID = "#parked"
#: Records per transaction (DynamoDB takes 100 actions; the entry and the index are two more).
CHUNK = 90
_NAMES = {
    "#consumer": "consumer",
    "#parkedAt": "parkedAt",
    "#condition": "failedCondition",
    "#error": "error",
    "#failedVersion": "failedVersion",
    "#added": "added",
}


class DynamoDBParkingLot:
    def __init__(self, client: DynamoDBClient, table_name: str, consumer: str) -> None:
        self._client = client
        self.table_name = table_name
        self.consumer = consumer

    @classmethod
    def for_table(cls, table_name: str, consumer: str) -> Self:
        """``consumer``'s parked records in ``table_name``, through this execution environment's client."""
        return cls(ddb.client(), table_name, consumer)

    # ------------------------------------------------------------------ the batches' read
    def parked_streams(self) -> frozenset[str]:
        item = self._client.get_item(
            TableName=self.table_name,
            Key=_key(INDEX_ID, 0),
            ConsistentRead=True,
            ProjectionExpression="streams",
        ).get("Item", {})
        return frozenset(item.get("streams", {}).get("SS", []))

    # ------------------------------------------------------------------ parking
    def park(self, stream_id: str, records: Sequence[StreamRecord], failure: Failure) -> None:
        at = _now()
        for chunk in _chunks(records):
            actions = [*self._open(stream_id, failure, len(chunk)), *self._puts(stream_id, chunk, at)]
            self._client.transact_write_items(TransactItems=actions)

    def park_behind(self, stream_id: str, records: Sequence[StreamRecord]) -> bool:
        at = _now()
        for chunk in _chunks(records):
            count: Any = {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _key(stream_id, 0),
                    "UpdateExpression": "ADD #added :n",
                    "ConditionExpression": "attribute_exists(streamId)",
                    "ExpressionAttributeNames": {"#added": "added"},
                    "ExpressionAttributeValues": {":n": {"N": str(len(chunk))}},
                }
            }
            try:
                self._client.transact_write_items(TransactItems=[count, *self._puts(stream_id, chunk, at)])
            except ClientError as error:
                if _cancelled_by_condition(error, 0):
                    return False
                raise
        return True

    def park_unresolved(self, batch: StreamBatchInfo, failure: Failure) -> str:
        key = unresolved_id(batch)
        item = {
            **_key(key, 0),
            "consumer": {"S": self.consumer},
            "parkedAt": {"S": failure.at},
            "failedCondition": {"S": failure.condition},
            "error": {"S": failure.error},
            "added": {"N": "0"},
            "batch": {"S": json.dumps(batch.model_dump(by_alias=True), sort_keys=True)},
        }
        try:
            self._client.put_item(
                TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(streamId)"
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
        return key

    def _open(self, stream_id: str, failure: Failure, count: int) -> list[Any]:
        """Open the stream's entry (kept as it is if open already) and add ``count`` to it."""
        entry = {
            "Update": {
                "TableName": self.table_name,
                "Key": _key(stream_id, 0),
                "UpdateExpression": (
                    "SET #consumer = :consumer, #parkedAt = if_not_exists(#parkedAt, :at),"
                    " #condition = if_not_exists(#condition, :condition),"
                    " #error = if_not_exists(#error, :error),"
                    " #failedVersion = if_not_exists(#failedVersion, :version) ADD #added :n"
                ),
                "ExpressionAttributeNames": _NAMES,
                "ExpressionAttributeValues": {
                    ":consumer": {"S": self.consumer},
                    ":at": {"S": failure.at},
                    ":condition": {"S": failure.condition},
                    ":error": {"S": failure.error},
                    ":version": {"N": str(failure.version)},
                    ":n": {"N": str(count)},
                },
            }
        }
        index = {
            "Update": {
                "TableName": self.table_name,
                "Key": _key(INDEX_ID, 0),
                "UpdateExpression": "ADD streams :s",
                "ExpressionAttributeValues": {":s": {"SS": [stream_id]}},
            }
        }
        return [entry, index]

    def _puts(self, stream_id: str, records: Sequence[StreamRecord], at: str) -> list[Any]:
        return [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": {
                        **_key(stream_id, version_of(record)),
                        "parkedAt": {"S": at},
                        "record": {"S": json.dumps(record, sort_keys=True, separators=(",", ":"))},
                    },
                }
            }
            for record in records
        ]

    # ------------------------------------------------------------------ reading
    def stream(self, stream_id: str) -> ParkedStream | None:
        head = self._client.get_item(
            TableName=self.table_name, Key=_key(stream_id, 0), ConsistentRead=True
        ).get("Item")
        if head is None:
            return None
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "streamId = :s AND version > :zero",
            "ExpressionAttributeValues": {":s": {"S": stream_id}, ":zero": {"N": "0"}},
            "ConsistentRead": True,
        }
        records = [_record(item) for item in self._pages("query", query)]
        return _stream(head, records)

    def streams(self) -> list[ParkedStream]:
        heads: dict[str, Mapping[str, Any]] = {}
        records: dict[str, list[ParkedRecord]] = {}
        scan = {"TableName": self.table_name, "ConsistentRead": True}
        for item in self._pages("scan", scan):
            stream_id = item["streamId"]["S"]
            if stream_id == INDEX_ID:
                continue
            if item["version"]["N"] == "0":
                heads[stream_id] = item
            else:
                records.setdefault(stream_id, []).append(_record(item))
        return [_stream(heads[s], sorted(records.get(s, []), key=lambda r: r.version)) for s in sorted(heads)]

    def _pages(self, operation: str, request: dict[str, Any]) -> Iterator[Mapping[str, Any]]:
        call = self._client.query if operation == "query" else self._client.scan
        while True:
            page = call(**request)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # ------------------------------------------------------------------ redrive
    def remove(self, stream_id: str, version: int) -> None:
        self._client.delete_item(TableName=self.table_name, Key=_key(stream_id, version))

    def note_redrive(self, stream_id: str, failure: Failure) -> None:
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key=_key(stream_id, 0),
                UpdateExpression=(
                    "SET lastRedriveAt = :at, lastRedriveError = :error, lastRedriveVersion = :v"
                ),
                ConditionExpression="attribute_exists(streamId)",
                ExpressionAttributeValues={
                    ":at": {"S": failure.at},
                    ":error": {"S": failure.error},
                    ":v": {"N": str(failure.version)},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def release(self, stream_id: str, added: int) -> bool:
        actions: list[Any] = [
            {
                "Delete": {
                    "TableName": self.table_name,
                    "Key": _key(stream_id, 0),
                    "ConditionExpression": "attribute_not_exists(streamId) OR #added = :n",
                    "ExpressionAttributeNames": {"#added": "added"},
                    "ExpressionAttributeValues": {":n": {"N": str(added)}},
                }
            },
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": _key(INDEX_ID, 0),
                    "UpdateExpression": "DELETE streams :s",
                    "ExpressionAttributeValues": {":s": {"SS": [stream_id]}},
                }
            },
        ]
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as error:
            if _cancelled_by_condition(error, 0):
                return False
            raise
        return True


def _key(stream_id: str, version: int) -> dict[str, Any]:
    return {"streamId": {"S": stream_id}, "version": {"N": str(version)}}


def _now() -> str:
    return format_timestamp(utc_now())


def _chunks(records: Sequence[StreamRecord]) -> list[Sequence[StreamRecord]]:
    return [records[start : start + CHUNK] for start in range(0, len(records), CHUNK)]


def _cancelled_by_condition(error: ClientError, index: int) -> bool:
    """A cancelled transaction whose action ``index`` failed its condition."""
    if error.response["Error"]["Code"] != "TransactionCanceledException":
        return False
    reasons: list[Any] = list(error.response.get("CancellationReasons", []))
    return len(reasons) > index and reasons[index].get("Code") == "ConditionalCheckFailed"


def _record(item: Mapping[str, Any]) -> ParkedRecord:
    return ParkedRecord(
        item["streamId"]["S"],
        int(item["version"]["N"]),
        json.loads(item["record"]["S"]),
        item.get("parkedAt", {}).get("S", ""),
    )


def _stream(head: Mapping[str, Any], records: Sequence[ParkedRecord]) -> ParkedStream:
    def text(name: str) -> str:
        return str(head.get(name, {}).get("S", ""))

    def number(name: str) -> int:
        return int(head.get(name, {}).get("N", "0"))

    last_redrive = None
    if "lastRedriveAt" in head:
        last_redrive = Failure(
            text("lastRedriveError"), text("lastRedriveAt"), "redrive", number("lastRedriveVersion")
        )
    stream_id = head["streamId"]["S"]
    batch = json.loads(text("batch")) if stream_id.startswith(UNRESOLVED_PREFIX) and "batch" in head else None
    return ParkedStream(
        text("consumer"),
        stream_id,
        Failure(text("error"), text("parkedAt"), text("failedCondition"), number("failedVersion")),
        number("added"),
        tuple(records),
        last_redrive,
        batch,
    )


# ---------------------------------------------------------------------- the stream, read back
#: Stream codes that mean the records are gone (trimmed after 24 h, or the stream was disabled).
GONE = frozenset({"TrimmedDataAccessException", "ResourceNotFoundException", "ExpiredIteratorException"})
#: Empty pages tolerated before the end record is found (an open shard can answer empty pages).
EMPTY_PAGES = 5


class StreamBatches:
    """Reads the records an on-failure record names, in the shape Lambda delivered them."""

    def __init__(self, client: DynamoDBStreamsClient, pause: float = 0.2) -> None:
        self._client = client
        self._pause = pause

    @classmethod
    def for_environment(cls) -> Self:
        return cls(ddb.streams_client())

    def read(self, batch: StreamBatchInfo) -> list[StreamRecord] | None:
        """Every record from the first to the last sequence number (those the mapping's filter
        skipped too); None if the stream no longer has them."""
        try:
            iterator: str | None = self._client.get_shard_iterator(
                StreamArn=batch.stream_arn,
                ShardId=batch.shard_id,
                ShardIteratorType="AT_SEQUENCE_NUMBER",
                SequenceNumber=batch.start_sequence_number,
            )["ShardIterator"]
        except ClientError as error:
            if error.response["Error"]["Code"] in GONE:
                return None
            raise
        end = int(batch.end_sequence_number)
        region = batch.stream_arn.split(":")[3]
        records: list[StreamRecord] = []
        empty = 0
        while iterator and empty < EMPTY_PAGES:
            page = self._client.get_records(ShardIterator=iterator, Limit=1000)
            for raw in page.get("Records", []):
                if int(raw["dynamodb"]["SequenceNumber"]) > end:
                    return records
                records.append(_lambda_record(dict(raw), batch.stream_arn, region))
            if records and int(records[-1]["dynamodb"]["SequenceNumber"]) >= end:
                return records
            empty = 0 if page.get("Records") else empty + 1
            iterator = page.get("NextShardIterator")
            if not page.get("Records"):
                time.sleep(self._pause)
        return records or None


def _lambda_record(raw: dict[str, Any], stream_arn: str, region: str) -> StreamRecord:
    dynamodb = dict(raw["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = float(int(created.timestamp()))
    return {
        "eventID": raw.get("eventID", ""),
        "eventName": raw.get("eventName", ""),
        "eventVersion": raw.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }
