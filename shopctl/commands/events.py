"""``shopctl events <streamId>``: a stream's events, decoded, with their metadata (support work).

Every event store is asked (one consistent ``Query`` each, from ``--after`` on); the one holding
the stream answers. Events come through the same decoding the Lambdas use
(``DynamoDBEventStore.load``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from shop.eventstore.dynamodb import DynamoDBEventStore
from shop.eventstore.model import RecordedEvent, format_timestamp
from shop.operations.readmodels import EVENT_STORES
from shopctl.cli import (
    EndpointUrl,
    Json,
    Prefix,
    Region,
    StackName,
    connect,
    console,
    emit,
    not_blank,
    reporting,
)
from shopctl.errors import NoSuchStream
from shopctl.target import Target


def command(
    stream_id: Annotated[str, typer.Argument(help="A stream id, e.g. product-<id>, cart-<id>, order-<id>.")],
    after: Annotated[int, typer.Option("--after", min=0, help="Only events after this version.")] = 0,
    stack_name: StackName = None,
    endpoint_url: EndpointUrl = None,
    region: Region = None,
    prefix: Prefix = "",
    as_json: Json = False,
) -> None:
    """Print the events of one stream, decoded, with version, time and metadata."""
    not_blank(stream_id, "STREAM_ID")
    with reporting(as_json):
        target = connect(stack_name, endpoint_url, region, prefix)
        store, events = find_stream(target, stream_id, after)
        if as_json:
            emit({"streamId": stream_id, "store": store, "events": [as_document(e) for e in events]})
            return
        show(stream_id, store, events)


def find_stream(target: Target, stream_id: str, after: int = 0) -> tuple[str, list[RecordedEvent]]:
    """The event store holding ``stream_id`` and its events after ``after``; ``NoSuchStream`` if none."""
    client = target.client("dynamodb")
    for store in EVENT_STORES:
        if not target.has(store):
            continue
        events = DynamoDBEventStore(client, target.table(store)).load(stream_id)
        if events:
            return store, [event for event in events if event.version > after]
    raise NoSuchStream(f"no event store of {target.description} holds a stream {stream_id!r}")


def as_document(event: RecordedEvent) -> dict[str, Any]:
    return {
        "version": event.version,
        "type": event.type,
        "schemaVersion": event.schema_version,
        "eventId": event.event_id,
        "occurredAt": format_timestamp(event.occurred_at),
        "data": dict(event.data),
        "metadata": {
            "correlationId": event.metadata.correlation_id,
            "causationId": event.metadata.causation_id,
            "actor": event.metadata.actor,
            "requestKey": event.metadata.request_key or None,
        },
    }


def show(stream_id: str, store: str, events: list[RecordedEvent]) -> None:
    table = Table(title=f"{stream_id} ({store}, {len(events)} events)", title_justify="left")
    table.add_column("v", no_wrap=True)
    table.add_column("type", no_wrap=True)
    for column in ("occurred at", "actor", "correlation / causation", "data"):
        table.add_column(column, overflow="fold")
    for event in events:
        table.add_row(
            f"{event.version}" + (f" (schema {event.schema_version})" if event.schema_version != 1 else ""),
            event.type,
            format_timestamp(event.occurred_at),
            event.metadata.actor or "-",
            f"{event.metadata.correlation_id}\n{event.metadata.causation_id}",
            json.dumps(event.data, ensure_ascii=False, separators=(", ", ": ")),
        )
    console.print(table)
