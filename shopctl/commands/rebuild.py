"""``shopctl rebuild <ReadTable>``: rebuild a read table from its event store, live projection on.

In place (``shopctl rebuild ProductsView``): repairs the table readers use: rows that are missing
or behind get the versions they lack; nothing already applied is applied again. Into a fresh table
(``--into NAME [--create]``): a new view or a changed projection, built beside the live one until
readers switch to it (docs/rebuild.md). Both run ``shop.operations.rebuild``: a parallel scan of
the event store, every page through the projector's own engine and checkpoints.

Resumable: the position of every scan segment is saved after each page (``--state-file``, by
default ``.shopctl/rebuild-<target table>.json``); ``--resume`` goes on from it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from botocore.exceptions import ClientError
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from shop.operations.readmodels import READ_MODELS, ReadModel
from shop.operations.rebuild import DEFAULT_SEGMENTS, Outcome, PageDone, dynamodb_rebuild
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
from shopctl.errors import Conflict, Interrupted, ShopctlError, UnknownResource
from shopctl.positions import FilePositions
from shopctl.target import Target

STATE_DIR = Path(".shopctl")


def command(
    read_table: Annotated[str, typer.Argument(help="Logical id of the read table, e.g. ProductsView.")],
    into: Annotated[
        str | None,
        typer.Option(
            "--into",
            help="Rebuild into this table (a logical id of the stack, or a table name) instead of in place.",
        ),
    ] = None,
    create: Annotated[
        bool, typer.Option("--create", help="Create the --into table first, like the read table.")
    ] = False,
    segments: Annotated[
        int, typer.Option("--segments", min=1, max=64, help="Parallel scan segments (threads).")
    ] = DEFAULT_SEGMENTS,
    resume: Annotated[
        bool, typer.Option("--resume", help="Go on from the saved positions of an interrupted run.")
    ] = False,
    state_file: Annotated[
        Path | None,
        typer.Option(
            "--state-file", help="Where positions are saved (default .shopctl/rebuild-<table>.json)."
        ),
    ] = None,
    stack_name: StackName = None,
    endpoint_url: EndpointUrl = None,
    region: Region = None,
    prefix: Prefix = "",
    as_json: Json = False,
) -> None:
    """Rebuild a read table from its service's event store while live projection goes on."""
    if create and into is None:
        raise typer.BadParameter("--create makes the --into table: name it", param_hint="--create")
    if into is not None:
        not_blank(into, "--into")
    with reporting(as_json):
        target = connect(stack_name, endpoint_url, region, prefix)
        model = read_model(target, read_table)
        client = target.client("dynamodb")
        store = target.table(model.store)
        destination = target.table(model.table) if into is None else fresh_table(target, into, model, create)
        if into is not None and not resume and not is_empty(client, destination):
            raise Conflict(
                f"{destination} is not empty: a fresh rebuild needs an empty table "
                "(or --resume to go on with an interrupted one)"
            )
        identity = {
            "readTable": model.table,
            "store": store,
            "target": destination,
            "segments": segments,
        }
        path = state_file or STATE_DIR / f"rebuild-{destination}.json"
        positions = FilePositions.resumed(path, identity) if resume else FilePositions.fresh(path, identity)
        try:
            outcome = run(model, client, store, destination, segments, positions, show_progress=not as_json)
        except KeyboardInterrupt:
            raise Interrupted(
                f"interrupted; each segment's position is in {path}: --resume goes on"
            ) from None
        document = summary(model, store, destination, outcome, path)
        if as_json:
            emit(document)
        else:
            print_summary(document)
        if not outcome.ok:
            raise ShopctlError(failure_advice(outcome, path))


def failure_advice(outcome: Outcome, path: Path) -> str:
    streams = sorted({f.stream_id for f in outcome.failures if f.stream_id})
    advice = []
    if streams:
        advice.append(
            f"{len(streams)} stream(s) could not be applied ({', '.join(streams[:5])}"
            f"{', ...' if len(streams) > 5 else ''}); the others were. Fix the cause and run the "
            "rebuild again: streams already applied cost one read each"
        )
    if any(not f.stream_id for f in outcome.failures):
        advice.append(f"a segment could not be read: run again with --resume (positions in {path})")
    return "; ".join(advice)


def read_model(target: Target, name: str) -> ReadModel:
    if name not in READ_MODELS:
        target.table(name)  # a table the stack does not have at all: UnknownResource names its tables
        raise UnknownResource(f"{name} is not a read table (read tables: {', '.join(READ_MODELS)})")
    return READ_MODELS[name]


def fresh_table(target: Target, name: str, model: ReadModel, create: bool) -> str:
    """The physical name of the ``--into`` table, created like the read table with ``--create``."""
    client = target.client("dynamodb")
    physical = target.table(name) if target.has(name) else name
    if physical == target.table(model.table):
        raise Conflict(f"--into names the live {model.table} itself: leave --into out to rebuild in place")
    exists = table_exists(client, physical)
    if create:
        if exists:
            raise Conflict(f"table {physical} exists already: leave --create out to use it")
        create_like(client, target.table(model.table), physical)
    elif not exists:
        raise UnknownResource(f"no table {physical} at {target.description} (--create creates it)")
    else:
        live, fresh = (key_schema(client, name) for name in (target.table(model.table), physical))
        if fresh != live:
            raise Conflict(
                f"{physical} is not shaped like {model.table}: its key is {fresh}, not {live} "
                "(--create makes a table like it)"
            )
    return physical


def key_schema(client: Any, name: str) -> list[str]:
    """A table's key as ``name (HASH)``, ``name (RANGE)``."""
    keys = client.describe_table(TableName=name)["Table"]["KeySchema"]
    return [f"{key['AttributeName']} ({key['KeyType']})" for key in keys]


def table_exists(client: Any, name: str) -> bool:
    try:
        client.describe_table(TableName=name)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            return False
        raise
    return True


def is_empty(client: Any, name: str) -> bool:
    return not client.scan(TableName=name, Limit=1).get("Items")


def create_like(client: Any, source: str, name: str) -> None:
    """A new on-demand table with the keys, indexes and encryption of ``source``."""
    table = client.describe_table(TableName=source)["Table"]
    definition: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": table["AttributeDefinitions"],
        "KeySchema": table["KeySchema"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    indexes = [
        {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
        for i in table.get("GlobalSecondaryIndexes", [])
    ]
    if indexes:
        definition["GlobalSecondaryIndexes"] = indexes
    encryption = table.get("SSEDescription", {})
    if encryption.get("SSEType") == "KMS" and encryption.get("KMSMasterKeyArn"):
        definition["SSESpecification"] = {
            "Enabled": True,
            "SSEType": "KMS",
            "KMSMasterKeyId": encryption["KMSMasterKeyArn"],
        }
    client.create_table(**definition)
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 150})


def run(
    model: ReadModel,
    client: Any,
    store: str,
    destination: str,
    segments: int,
    positions: FilePositions,
    *,
    show_progress: bool,
) -> Outcome:
    total = client.describe_table(TableName=store)["Table"].get("ItemCount") or None
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("commits · {task.fields[events]} events"),
        TimeElapsedColumn(),
        console=console,
        disable=not show_progress,
        transient=False,
    ) as progress:
        task = progress.add_task(f"{model.table} <- {store}", total=total, events=0)
        counted = {"events": 0}

        def on_page(page: PageDone) -> None:
            counted["events"] += page.events
            progress.update(task, advance=page.commits, events=counted["events"])

        rebuild = dynamodb_rebuild(
            model,
            client,
            store_table=store,
            view_table=destination,
            total_segments=segments,
            positions=positions,
            on_page=on_page,
        )
        outcome = rebuild.run()
        progress.update(task, total=progress.tasks[0].completed)
    return outcome


def summary(model: ReadModel, store: str, destination: str, outcome: Outcome, path: Path) -> dict[str, Any]:
    return {
        "readTable": model.table,
        "store": store,
        "target": destination,
        "commits": outcome.commits,
        "events": outcome.events,
        "streams": outcome.streams,
        "rowsWritten": outcome.rows_written,
        "seconds": round(outcome.seconds, 2),
        "eventsPerSecond": round(outcome.events_per_second, 1),
        "resumedSegmentsDone": outcome.skipped_segments,
        "failures": [
            {"segment": f.segment, "streamId": f.stream_id, "error": f.error} for f in outcome.failures
        ],
        "stateFile": str(path),
    }


def print_summary(document: dict[str, Any]) -> None:
    console.print(
        f"{document['readTable']} -> {document['target']}: {document['events']} events in "
        f"{document['commits']} commits, {document['rowsWritten']} row writes, "
        f"{document['seconds']} s ({document['eventsPerSecond']} events/s)"
    )
    for failure in document["failures"]:
        console.print(f"  [red]segment {failure['segment']}[/]: {failure['streamId']}: {failure['error']}")
