"""``shopctl lag``: how far each stream consumer is behind its event store.

Two measures, each where it exists (docs/operations.md, "Lag"):

* **behind** (projectors): every stream of the event store against the checkpoint its read row
  holds (``shop.operations.lag``): streams and events not yet applied, and the age of the oldest.
  Exact, locally and in AWS, whatever the stream's retention; costs a ``Scan`` of both tables.
* **iterator age** (every consumer, policies too): Lambda's ``IteratorAge`` metric (``AWS/Lambda``,
  maximum over the last 5 minutes), the age of the last record the consumer's event source mapping
  handed over. Lambda publishes it in AWS, the local stack to its endpoint (``IteratorAges``);
  ``-`` when the consumer had no invocation in those minutes.

Policies keep no checkpoint, so for them the iterator age is the measure.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.table import Table

from local.aws.template import Template
from shop.operations.lag import ProjectionLag, dynamodb_projection_lag
from shop.operations.readmodels import READ_MODELS
from shopctl.cli import EndpointUrl, Json, Prefix, Region, StackName, connect, console, emit, reporting
from shopctl.errors import UnknownResource
from shopctl.target import Target

WINDOW = timedelta(minutes=5)


def command(
    table: Annotated[
        list[str] | None,
        typer.Option("--table", help="Only this read table's projector (repeatable); default: every one."),
    ] = None,
    stack_name: StackName = None,
    endpoint_url: EndpointUrl = None,
    region: Region = None,
    prefix: Prefix = "",
    as_json: Json = False,
) -> None:
    """Show how far each projector and policy is behind its event store."""
    with reporting(as_json):
        target = connect(stack_name, endpoint_url, region, prefix)
        consumers = measure(target, table)
        if as_json:
            emit({"target": target.description, "consumers": consumers})
        else:
            show(target, consumers)


def measure(target: Target, tables: list[str] | None = None) -> list[dict[str, Any]]:
    """One entry per stream consumer of the template (per projector when ``tables`` are named)."""
    for name in tables or ():
        if name not in READ_MODELS:
            target.table(name)  # UnknownResource for a table the stack does not have
            raise UnknownResource(f"{name} is not a read table (read tables: {', '.join(READ_MODELS)})")
    now = datetime.now(UTC)
    client = target.client("dynamodb")
    template = Template()
    consumers = []
    for subscription in template.subscriptions:
        environment = template.functions[subscription.function].environment.values()
        model = next(
            (
                m
                for m in READ_MODELS.values()
                if m.store == subscription.table and {"Ref": m.table} in environment
            ),
            None,
        )
        if tables and (model is None or model.table not in tables):
            continue
        entry: dict[str, Any] = {
            "consumer": subscription.function,
            "kind": "projector" if model else "policy",
            "store": subscription.table,
            "readTable": model.table if model else None,
            "iteratorAgeMs": iterator_age(target, subscription.function, now),
        }
        if model is not None:
            lag = dynamodb_projection_lag(
                model.projection(),
                client,
                store_table=target.table(model.store),
                view_table=target.table(model.table),
            )
            entry |= as_document(lag, now)
        consumers.append(entry)
    return consumers


def as_document(lag: ProjectionLag, now: datetime) -> dict[str, Any]:
    return {
        "streams": lag.streams,
        "events": lag.events,
        "streamsBehind": lag.streams_behind,
        "eventsBehind": lag.events_behind,
        "oldestPendingSeconds": round((now - lag.oldest_pending).total_seconds(), 1)
        if lag.oldest_pending
        else None,
        "behind": [{"streamId": s, "applied": a, "newest": n} for s, a, n in lag.examples],
        "undecodable": [{"streamId": s, "error": e} for s, e in lag.undecodable],
    }


def iterator_age(target: Target, function: str, now: datetime) -> float | None:
    """Lambda's ``IteratorAge`` (maximum over ``WINDOW``) for ``function``; ``None`` without data."""
    if not target.has(function):
        return None
    statistics = target.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="IteratorAge",
        Dimensions=[{"Name": "FunctionName", "Value": target.function(function)}],
        StartTime=now - WINDOW,
        # A minute past now: a point stamped in the same second as ``now`` (or by a clock a little
        # ahead) is not lost to the end bound; no point can come from the future.
        EndTime=now + timedelta(minutes=1),
        Period=int(WINDOW.total_seconds()),
        Statistics=["Maximum"],
    )
    points = statistics.get("Datapoints", [])
    return max(float(point["Maximum"]) for point in points) if points else None


def show(target: Target, consumers: list[dict[str, Any]]) -> None:
    table = Table(title=f"Lag of {target.description}", title_justify="left")
    for column in ("consumer", "store", "read table", "behind", "oldest pending", "iterator age"):
        table.add_column(column)
    for entry in consumers:
        if entry["kind"] == "projector":
            behind = f"{entry['eventsBehind']} events in {entry['streamsBehind']}/{entry['streams']} streams"
            oldest = _seconds(entry["oldestPendingSeconds"])
        else:
            behind, oldest = "(policy: no checkpoint)", "-"
        age = entry["iteratorAgeMs"]
        table.add_row(
            entry["consumer"],
            entry["store"],
            entry["readTable"] or "-",
            behind,
            oldest,
            _seconds(age / 1000) if age is not None else "-",
        )
    console.print(table)
    for entry in consumers:
        for stream in entry.get("behind", []):
            console.print(
                f"  {entry['readTable']}: {stream['streamId']} applied {stream['applied']}, "
                f"the store has {stream['newest']}"
            )
        for stream in entry.get("undecodable", []):
            console.print(f"  {entry['store']}: {stream['streamId']} has a commit that does not decode")


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"
