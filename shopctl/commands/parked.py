"""``shopctl parked``: what the stream consumers gave up on and parked (docs/parking.md).

Every stream consumer of the template keeps its parked records in its own table (the table its
``<CONSUMER>_PARKED_TABLE`` variable names); this reads each (one consistent ``Scan``) and lists,
per parked source stream: why (the on-failure condition, the error, the first failing version),
when, its parked records in version order, and where the last redrive stopped. An *unresolved*
entry is an on-failure record whose records had left the stream before they could be read (after
24 h): only its shard and sequence numbers are known.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from local.aws.template import Template
from shop.operations.parking import Failure, ParkedStream
from shop.operations.parking_dynamodb import DynamoDBParkingLot
from shopctl.cli import EndpointUrl, Json, Prefix, Region, StackName, connect, console, emit, reporting
from shopctl.errors import UnknownResource
from shopctl.target import Target

Consumers = Annotated[
    list[str] | None,
    typer.Option(
        "--consumer", help="Only this stream consumer (its function, e.g. CatalogProjector); repeatable."
    ),
]
Stream = Annotated[str | None, typer.Option("--stream", help="Only this source stream, e.g. product-<id>.")]


@dataclass(frozen=True)
class Consumer:
    """A stream consumer of the template: its function and its parked-records table (logical ids)."""

    function: str
    parked_table: str
    variable: str  # the environment variable naming the table


def consumers(template: Template, wanted: Iterable[str] | None = None) -> list[Consumer]:
    """The template's stream consumers that park (``wanted``: only these, each one known)."""
    found = []
    for subscription in template.subscriptions:
        environment = template.functions[subscription.function].environment
        for variable, value in environment.items():
            if variable.endswith("_PARKED_TABLE") and isinstance(value, dict) and "Ref" in value:
                found.append(Consumer(subscription.function, value["Ref"], variable))
    names = list(wanted or [])
    unknown = sorted(set(names) - {c.function for c in found})
    if unknown:
        known = ", ".join(c.function for c in found)
        raise UnknownResource(f"no stream consumer {', '.join(unknown)} (stream consumers: {known})")
    return [c for c in found if not names or c.function in names]


def lot(target: Target, consumer: Consumer) -> DynamoDBParkingLot:
    return DynamoDBParkingLot(
        target.client("dynamodb"), target.table(consumer.parked_table), consumer.function
    )


def command(
    consumer: Consumers = None,
    stream: Stream = None,
    stack_name: StackName = None,
    endpoint_url: EndpointUrl = None,
    region: Region = None,
    prefix: Prefix = "",
    as_json: Json = False,
) -> None:
    """List the records the stream consumers gave up on and parked, per consumer and source stream."""
    with reporting(as_json):
        target = connect(stack_name, endpoint_url, region, prefix)
        parked = [
            entry
            for selected in consumers(Template(), consumer)
            for entry in lot(target, selected).streams()
            if stream is None or entry.stream_id == stream
        ]
        if as_json:
            emit({"target": target.description, "parked": [as_document(entry) for entry in parked]})
        else:
            show(target, parked)


def failure_document(failure: Failure | None) -> dict[str, Any] | None:
    if failure is None:
        return None
    return {
        "at": failure.at,
        "condition": failure.condition,
        "error": failure.error,
        "version": failure.version,
    }


def as_document(entry: ParkedStream) -> dict[str, Any]:
    return {
        "consumer": entry.consumer,
        "streamId": entry.stream_id,
        "unresolved": entry.unresolved,
        "parkedAt": entry.failure.at,
        "condition": entry.failure.condition,
        "error": entry.failure.error,
        "failedVersion": entry.failure.version,
        "records": [
            {
                "version": record.version,
                "eventTypes": list(record.event_types),
                "sequenceNumber": record.sequence_number,
                "parkedAt": record.parked_at,
            }
            for record in entry.records
        ],
        "lastRedrive": failure_document(entry.last_redrive),
        "batch": dict(entry.batch) if entry.batch is not None else None,
    }


def show(target: Target, parked: list[ParkedStream]) -> None:
    """One block per parked stream (errors are long: a table would fold them past reading)."""
    if not parked:
        console.print(f"Nothing is parked at {target.description}.")
        return
    console.print(f"[bold]Parked at {target.description}[/]: {len(parked)} stream(s)")
    for entry in parked:
        failure = entry.failure
        console.print(f"\n[bold]{entry.consumer}[/]  {entry.stream_id}", soft_wrap=True)
        console.print(f"  parked {failure.at}: {failure.condition} at v{failure.version}", soft_wrap=True)
        console.print(f"  error: {failure.error}", soft_wrap=True, markup=False)
        if entry.unresolved:
            batch = entry.batch or {}
            console.print(
                f"  records: {batch.get('batchSize', '?')} between sequence numbers "
                f"{batch.get('startSequenceNumber', '?')} and {batch.get('endSequenceNumber', '?')} of "
                f"{batch.get('shardId', '?')}: they left the stream before they could be read",
                soft_wrap=True,
            )
        else:
            records = ", ".join(f"v{r.version} {'/'.join(r.event_types) or '-'}" for r in entry.records)
            console.print(f"  records: {records or '-'}", soft_wrap=True)
        last = entry.last_redrive
        if last is not None:
            console.print(
                f"  last redrive {last.at}: stopped at v{last.version}: {last.error}", soft_wrap=True
            )
    console.print("\nFix the cause, then: shopctl redrive [--consumer NAME] [--stream ID] (docs/parking.md)")
