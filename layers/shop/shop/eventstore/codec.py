"""How a commit is laid out in a DynamoDB item, and back.

One item per commit, keyed by (stream id, version of the commit's first event), so a command that
appends up to 1 KB of events to one stream is one 1-WCU PutItem. Commit-level attributes:

===============  ====  ==========================================================================
streamId         S     partition key
version          N     sort key: version of the first event in the commit
correlationId    S     metadata shared by every event of the commit
causationId      S     the API Gateway request id (commands) or the triggering event's id (policies)
actor            S     who caused it: the ``sub`` of the caller's access token (never the token)
commitId         S     unique per write: tells our own repeated write from a competitor's
requestKey       S     only for a command sent with an ``Idempotency-Key``: a digest of the key, its
                       route and its caller, so a second run of that request finds this commit
eventTypes       SS    types in the commit, so stream consumers can filter without decoding
events           S     compact JSON list of ``{id, type, schemaVersion, occurredAt, data}``
===============  ====  ==========================================================================

Items are read in their low-level ``AttributeValue`` form, which is the same in a Query response
and in a DynamoDB Streams record's ``NewImage``, so one decoder serves the store and the stream
consumers; it upcasts every event to the current version of its type through the ``Upcaster`` it is
given (``shop.eventstore.upcasting``), so no reader sees an older one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from shop.eventstore.model import (
    EventMetadata,
    NewEvent,
    RecordedEvent,
    format_timestamp,
    parse_timestamp,
)
from shop.eventstore.upcasting import Upcaster, upcast_event

AttributeValue = Mapping[str, Any]
Item = Mapping[str, AttributeValue]


def encode_commit(
    stream_id: str,
    expected_version: int,
    events: Sequence[NewEvent],
    metadata: EventMetadata,
    commit_id: str = "",
) -> dict[str, dict[str, Any]]:
    body = [
        {
            "id": event.event_id,
            "type": event.type,
            "schemaVersion": event.schema_version,
            "occurredAt": format_timestamp(event.occurred_at),
            "data": event.data,
        }
        for event in events
    ]
    item: dict[str, dict[str, Any]] = {
        "streamId": {"S": stream_id},
        "version": {"N": str(expected_version + 1)},
        "correlationId": {"S": metadata.correlation_id},
        "causationId": {"S": metadata.causation_id},
        "actor": {"S": metadata.actor},
        "eventTypes": {"SS": sorted({event.type for event in events})},
        "events": {"S": json.dumps(body, separators=(",", ":"), ensure_ascii=False)},
    }
    if commit_id:
        item["commitId"] = {"S": commit_id}
    if metadata.request_key:
        item["requestKey"] = {"S": metadata.request_key}
    return item


def commit_id_of(item: Item | None) -> str | None:
    return item.get("commitId", {}).get("S") if item else None


def decode_commit(item: Item, *, upcaster: Upcaster) -> list[RecordedEvent]:
    """Events of one commit item, in version order, upcast by ``upcaster`` (``AS_STORED``: as stored).

    Raises ``UnreadableEvent`` for an event the upcaster cannot read."""
    stream_id = item["streamId"]["S"]
    first = int(item["version"]["N"])
    # A commit written before actors were recorded has none: "" (unknown), never a guess.
    actor = item.get("actor", {}).get("S", "")
    request_key = item.get("requestKey", {}).get("S", "")
    metadata = EventMetadata(item["correlationId"]["S"], item["causationId"]["S"], actor, request_key)
    return [
        upcast_event(
            RecordedEvent(
                event_id=raw["id"],
                type=raw["type"],
                stream_id=stream_id,
                version=first + offset,
                schema_version=raw["schemaVersion"],
                occurred_at=parse_timestamp(raw["occurredAt"]),
                data=raw["data"],
                metadata=metadata,
            ),
            upcaster,
        )
        for offset, raw in enumerate(json.loads(item["events"]["S"]))
    ]
