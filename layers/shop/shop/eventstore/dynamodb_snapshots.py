"""DynamoDB implementation of the snapshot store: one item per stream, in a table with no stream.

===============  ====  ==========================================================================
streamId         S     partition key (no sort key): the stream's latest snapshot only
version          N     the stream's version the state is at
commitVersion    N     first version of the commit that reached ``version``
lastEventId      S     id of the event at ``version``
schemaVersion    N     the aggregate's ``snapshot_schema``
takenAt          S     when it was written (UTC)
state            S     compact JSON: the aggregate's ``snapshot_state``
requests         S     compact JSON ``{requestKey: [version, committedAt]}``; absent when empty
===============  ====  ==========================================================================

A put is conditional on the stored snapshot being older, so two writers never move it backwards.
A get is eventually consistent (half the read units): a stale answer is an older snapshot, or
none, and either is still true of the stream.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

from botocore.exceptions import ClientError

from shop import ddb
from shop.eventstore.model import format_timestamp, parse_timestamp
from shop.eventstore.snapshots import RequestCommit, Snapshot, UnreadableSnapshot

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_ONLY_FORWARD = "attribute_not_exists(streamId) OR version < :version"


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def encode_snapshot(snapshot: Snapshot) -> dict[str, dict[str, Any]]:
    item: dict[str, dict[str, Any]] = {
        "streamId": {"S": snapshot.stream_id},
        "version": {"N": str(snapshot.version)},
        "commitVersion": {"N": str(snapshot.commit_version)},
        "lastEventId": {"S": snapshot.last_event_id},
        "schemaVersion": {"N": str(snapshot.schema_version)},
        "takenAt": {"S": format_timestamp(snapshot.taken_at)},
        "state": {"S": _compact(snapshot.state)},
    }
    if snapshot.requests:
        requests = {
            key: [commit.version, format_timestamp(commit.committed_at)]
            for key, commit in snapshot.requests.items()
        }
        item["requests"] = {"S": _compact(requests)}
    return item


def _object(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise TypeError(f"a JSON object, not {type(value).__name__}")
    return value


def decode_snapshot(item: Mapping[str, Mapping[str, Any]]) -> Snapshot:
    """The snapshot in ``item``; ``UnreadableSnapshot`` if it is not one this code wrote."""
    try:
        state = _object(item["state"]["S"])
        requests = _object(item["requests"]["S"]) if "requests" in item else {}
        return Snapshot(
            stream_id=item["streamId"]["S"],
            version=int(item["version"]["N"]),
            commit_version=int(item["commitVersion"]["N"]),
            last_event_id=item["lastEventId"]["S"],
            schema_version=int(item["schemaVersion"]["N"]),
            state=state,
            taken_at=parse_timestamp(item["takenAt"]["S"]),
            requests={
                str(key): RequestCommit(int(version), parse_timestamp(at))
                for key, (version, at) in requests.items()
            },
        )
    except (LookupError, TypeError, ValueError) as error:
        raise UnreadableSnapshot(f"not a snapshot: {error!r}") from error


class DynamoDBSnapshotStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    @classmethod
    def for_table(cls, table_name: str) -> Self:
        """The store in ``table_name``, through this execution environment's client."""
        return cls(ddb.client(), table_name)

    @property
    def table_name(self) -> str:
        return self._table

    def get(self, stream_id: str) -> Snapshot | None:
        response = self._client.get_item(TableName=self._table, Key={"streamId": {"S": stream_id}})
        item = response.get("Item")
        return decode_snapshot(item) if item else None

    def put(self, snapshot: Snapshot) -> None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=encode_snapshot(snapshot),
                ConditionExpression=_ONLY_FORWARD,
                ExpressionAttributeValues={":version": {"N": str(snapshot.version)}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            # a snapshot at this version or later is there already: it serves as well
