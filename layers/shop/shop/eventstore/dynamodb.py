"""DynamoDB implementation of the event store (low-level client, one item per commit)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from shop.eventstore.codec import decode_commit, encode_commit
from shop.eventstore.model import EventMetadata, NewEvent, RecordedEvent, StreamWrite
from shop.eventstore.store import ConcurrencyError, check_commit, check_writes

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: A commit may only create its item: a second writer at the same expected version loses.
_NEW_COMMIT_ONLY = "attribute_not_exists(version)"
_RETRYABLE_CANCELLATIONS = {"ConditionalCheckFailed", "TransactionConflict"}


class DynamoDBEventStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    @property
    def table_name(self) -> str:
        return self._table

    def append(
        self, stream_id: str, expected_version: int, events: Sequence[NewEvent], metadata: EventMetadata
    ) -> int:
        check_commit(events)
        try:
            self._client.put_item(
                TableName=self._table,
                Item=encode_commit(stream_id, expected_version, events, metadata),
                ConditionExpression=_NEW_COMMIT_ONLY,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ConcurrencyError([stream_id]) from error
            raise
        return expected_version + len(events)

    def append_all(self, writes: Sequence[StreamWrite], metadata: EventMetadata) -> None:
        check_writes(writes)
        if len(writes) == 1:
            write = writes[0]
            self.append(write.stream_id, write.expected_version, write.events, metadata)
            return
        items: list[Any] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": encode_commit(w.stream_id, w.expected_version, w.events, metadata),
                    "ConditionExpression": _NEW_COMMIT_ONLY,
                }
            }
            for w in writes
        ]
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = error.response.get("CancellationReasons", [])
            stale = [
                write.stream_id
                for write, reason in zip(writes, reasons, strict=False)
                if reason.get("Code") in _RETRYABLE_CANCELLATIONS
            ]
            if reasons and not stale:
                raise
            raise ConcurrencyError(stale or [w.stream_id for w in writes]) from error

    def load(self, stream_id: str, after_version: int = 0) -> list[RecordedEvent]:
        events: list[RecordedEvent] = []
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "streamId = :s AND version > :v",
            "ExpressionAttributeValues": {":s": {"S": stream_id}, ":v": {"N": str(after_version)}},
            "ConsistentRead": True,
        }
        while True:
            page = self._client.query(**query)
            for item in page.get("Items", []):
                events.extend(decode_commit(item))
            if "LastEvaluatedKey" not in page:
                return events
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
