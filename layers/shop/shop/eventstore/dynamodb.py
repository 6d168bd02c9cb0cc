"""DynamoDB implementation of the event store (low-level client, one item per commit).

Writes are safe to repeat. The SDK re-sends a request whose answer was lost (a timeout, a 500),
and the repeat then fails its own condition. Every commit carries a fresh ``commitId``; a failed
condition that finds *our* commit already in place is the earlier attempt's success, not a
conflict (``ReturnValuesOnConditionCheckFailure: ALL_OLD`` shows the item without another read).
Transactions also carry it as their ``ClientRequestToken``, DynamoDB's own idempotency.

Loads upcast every event to its type's current version through the store's ``Upcaster`` (the
service's ``EventRegistry``; ``AS_STORED`` by default: the history as stored).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Self

from botocore.exceptions import ClientError

from shop import ddb
from shop.eventstore.codec import commit_id_of, decode_commit, encode_commit
from shop.eventstore.model import EventMetadata, NewEvent, RecordedEvent, StreamCheck, StreamWrite
from shop.eventstore.store import ConcurrencyError, check_commit, check_writes
from shop.eventstore.upcasting import AS_STORED, Upcaster

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: A commit may only create its item: a second writer at the same expected version loses.
_NEW_COMMIT_ONLY = "attribute_not_exists(version)"
_RETRYABLE_CANCELLATIONS = {"ConditionalCheckFailed", "TransactionConflict"}


class DynamoDBEventStore:
    def __init__(self, client: DynamoDBClient, table_name: str, *, upcaster: Upcaster = AS_STORED) -> None:
        self._client = client
        self._table = table_name
        self._upcaster = upcaster

    @classmethod
    def for_table(cls, table_name: str, upcaster: Upcaster) -> Self:
        """The store in ``table_name``, through this execution environment's client, upcasting what
        it loads with ``upcaster`` (the owning service's event registry)."""
        return cls(ddb.client(), table_name, upcaster=upcaster)

    @property
    def table_name(self) -> str:
        return self._table

    def append(
        self, stream_id: str, expected_version: int, events: Sequence[NewEvent], metadata: EventMetadata
    ) -> int:
        check_commit(events)
        commit_id = str(uuid.uuid4())
        try:
            self._client.put_item(
                TableName=self._table,
                Item=encode_commit(stream_id, expected_version, events, metadata, commit_id),
                ConditionExpression=_NEW_COMMIT_ONLY,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            if commit_id_of(error.response.get("Item")) != commit_id:  # type: ignore[arg-type]
                raise ConcurrencyError([stream_id]) from error
        return expected_version + len(events)

    def append_all(
        self, writes: Sequence[StreamWrite], metadata: EventMetadata, *, unchanged: Sequence[StreamCheck] = ()
    ) -> None:
        check_writes(writes, unchanged)
        if len(writes) == 1 and not unchanged:
            write = writes[0]
            self.append(write.stream_id, write.expected_version, write.events, metadata)
            return
        commit_id = str(uuid.uuid4())
        items: list[Any] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": encode_commit(w.stream_id, w.expected_version, w.events, metadata, commit_id),
                    "ConditionExpression": _NEW_COMMIT_ONLY,
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
            for w in writes
        ]
        items += [
            {
                "ConditionCheck": {
                    "TableName": self._table,
                    "Key": {"streamId": {"S": c.stream_id}, "version": {"N": str(c.expected_version + 1)}},
                    "ConditionExpression": _NEW_COMMIT_ONLY,
                }
            }
            for c in unchanged
        ]
        streams = [w.stream_id for w in writes] + [c.stream_id for c in unchanged]
        try:
            self._client.transact_write_items(TransactItems=items, ClientRequestToken=commit_id)
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons: list[Any] = list(error.response.get("CancellationReasons", []))
            failed = [r for r in reasons if r.get("Code") not in (None, "None")]
            if failed and all(commit_id_of(r.get("Item")) == commit_id for r in failed):
                return  # every "conflict" is our own earlier attempt: it committed
            stale = [
                stream
                for stream, reason in zip(streams, reasons, strict=False)
                if reason.get("Code") in _RETRYABLE_CANCELLATIONS
            ]
            if reasons and not stale:
                raise
            raise ConcurrencyError(stale or streams) from error

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
                events.extend(decode_commit(item, upcaster=self._upcaster))
            if "LastEvaluatedKey" not in page:
                return events
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
