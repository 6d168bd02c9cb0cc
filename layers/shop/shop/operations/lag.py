"""How far a read table is behind its event store, by the projector's own checkpoints.

For every stream the read table's projection takes, the newest version in the event store is
compared with the checkpoint its row holds (``Target.checkpoint``): a stream whose row is below is
*behind*, by that many events, since the oldest of them occurred. Exact whatever the stream's
retention (a record that went to an on-failure queue shows as a stream that stays behind), at the
price of reading both tables (``Scan``; docs/operations.md has the cost).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shop.ddb import from_item
from shop.eventstore.model import RecordedEvent
from shop.operations.rebuild import commits_by_stream
from shop.projection.engine import Projection

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True, slots=True)
class ProjectionLag:
    #: Streams of the store this projection takes.
    streams: int
    #: Events those streams hold.
    events: int
    #: Streams whose row has not applied their newest version.
    streams_behind: int
    #: Events not yet applied, over every stream.
    events_behind: int
    #: When the oldest event not yet applied occurred (``None``: nothing is behind).
    oldest_pending: datetime | None
    #: A few streams that are behind, most behind first: (stream id, applied, newest).
    examples: tuple[tuple[str, int, int], ...] = ()


RowKey = tuple[tuple[str, str], ...]


def row_key(key: Mapping[str, str]) -> RowKey:
    return tuple(sorted(key.items()))


def rows_by_key(
    rows: Iterable[Mapping[str, Any]], key_names: Sequence[str]
) -> dict[RowKey, Mapping[str, Any]]:
    """Rows (plain values) by their key, as ``row_key`` makes it from a ``Target.key``."""
    return {row_key({name: str(row[name]) for name in key_names}): row for row in rows}


def projection_lag(
    projection: Projection,
    streams: Mapping[str, Sequence[RecordedEvent]],
    rows: Mapping[RowKey, Mapping[str, Any]],
    *,
    examples: int = 5,
) -> ProjectionLag:
    """The lag of ``rows`` against the store's ``streams`` (events in version order)."""
    total = events = behind = events_behind = 0
    oldest: datetime | None = None
    laggards: list[tuple[str, int, int]] = []
    for stream_id, stream_events in streams.items():
        target = projection.target(stream_id)
        if target is None or not stream_events:
            continue
        total += 1
        events += len(stream_events)
        applied = int(rows.get(row_key(target.key), {}).get(target.checkpoint, 0))
        newest = stream_events[-1].version
        if newest <= applied:
            continue
        behind += 1
        pending = [event for event in stream_events if event.version > applied]
        events_behind += len(pending)
        first = min(event.occurred_at for event in pending)
        oldest = first if oldest is None else min(oldest, first)
        laggards.append((stream_id, applied, newest))
    laggards.sort(key=lambda lag: (lag[1] - lag[2], lag[0]))
    return ProjectionLag(total, events, behind, events_behind, oldest, tuple(laggards[:examples]))


def scan_items(client: DynamoDBClient, table_name: str, **options: Any) -> list[dict[str, Any]]:
    """Every item of a table (eventually consistent ``Scan``, every page)."""
    request: dict[str, Any] = {"TableName": table_name, **options}
    items: list[dict[str, Any]] = []
    while True:
        page = client.scan(**request)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def dynamodb_projection_lag(
    projection: Projection, client: DynamoDBClient, *, store_table: str, view_table: str
) -> ProjectionLag:
    """Scan the store and the read table (keys and checkpoints only) and compare."""
    key_names = [
        entry["AttributeName"] for entry in client.describe_table(TableName=view_table)["Table"]["KeySchema"]
    ]
    streams, _ = commits_by_stream(scan_items(client, store_table))
    checkpoints = sorted(
        {target.checkpoint for stream_id in streams if (target := projection.target(stream_id)) is not None}
    )
    names = {f"#a{index}": name for index, name in enumerate([*key_names, *checkpoints])}
    items = scan_items(
        client, view_table, ProjectionExpression=", ".join(names), ExpressionAttributeNames=names
    )
    return projection_lag(projection, streams, rows_by_key((from_item(i) for i in items), key_names))
