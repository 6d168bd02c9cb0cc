"""``shopctl redrive``: deliver parked records again, in order, through the consumer's own code.

For each stream consumer with something parked (``--consumer``, ``--stream`` narrow it), the
consumer's handler module is loaded as its Lambda runs it (``CodeUri``/``Handler`` of
template.yaml) with its environment from the template, resolved against the target's physical
names, and ``shop.operations.parking.redrive`` hands each parked stream's records, in version
order, to that handler's batch code (the projection engine or the policy, with parking left out).
A record that succeeds is removed; the first that fails stops its stream (it and the records
behind it stay parked, with the new error); a stream with nothing left is released and its next
events apply as usual.

Run it once the cause is fixed and deployed: it runs the code of this checkout, with the
operator's credentials (docs/parking.md). Exit code 1 if a stream stopped at a record that still
fails, 4 if ``--stream`` is not parked, 6 if it names an unresolved entry (docs/operations.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from local.aws.functions import function_environment, load_handler
from local.aws.template import Template
from shop import runtime
from shop.operations.parking import ParkedRecord, Redriven, redrive
from shop.streams import StreamConsumer
from shopctl.cli import EndpointUrl, Json, Prefix, Region, StackName, connect, console, emit, reporting
from shopctl.commands.parked import Consumer, Consumers, Stream, consumers, failure_document, lot
from shopctl.errors import Conflict, NoSuchStream, ShopctlError
from shopctl.target import Target


def command(
    consumer: Consumers = None,
    stream: Stream = None,
    stack_name: StackName = None,
    endpoint_url: EndpointUrl = None,
    region: Region = None,
    prefix: Prefix = "",
    as_json: Json = False,
) -> None:
    """Deliver parked records again, in order, through their consumer's code; remove what succeeds."""
    with reporting(as_json):
        target = connect(stack_name, endpoint_url, region, prefix)
        template = Template()
        work = pending(target, consumers(template, consumer), stream)
        if stream is not None and not work:
            raise NoSuchStream(f"{stream} is not parked for {', '.join(consumer or ['any stream consumer'])}")
        outcomes = run(template, target, work, stream, show_progress=not as_json)
        if as_json:
            emit({"target": target.description, "redriven": [as_document(c, o) for c, o in outcomes]})
        else:
            show(target, outcomes)
        stopped = [(c, o) for c, o in outcomes if o.stopped is not None]
        if stopped:
            raise ShopctlError(
                f"{len(stopped)} stream(s) stopped at a record that still fails: "
                + "; ".join(
                    f"{c.function} {o.stream_id} v{o.stopped.version}" for c, o in stopped if o.stopped
                )
                + " (shopctl parked shows the errors)"
            )


def pending(target: Target, selected: list[Consumer], stream: str | None) -> list[tuple[Consumer, int]]:
    """The consumers with something to redrive, and how many records each has parked."""
    work = []
    for candidate in selected:
        parked = [e for e in lot(target, candidate).streams() if stream is None or e.stream_id == stream]
        unresolved = [e for e in parked if e.unresolved]
        if stream is not None and unresolved:
            raise Conflict(
                f"{stream} ({candidate.function}) is unresolved: its records left the stream before "
                "they could be read, so nothing can be delivered again (docs/parking.md)"
            )
        records = sum(len(e.records) for e in parked if not e.unresolved)
        if any(not e.unresolved for e in parked):
            work.append((candidate, records))
    return work


def run(
    template: Template,
    target: Target,
    work: list[tuple[Consumer, int]],
    stream: str | None,
    *,
    show_progress: bool,
) -> list[tuple[Consumer, Redriven]]:
    outcomes: list[tuple[Consumer, Redriven]] = []
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("records"),
        TimeElapsedColumn(),
        console=console,
        disable=not show_progress,
    ) as progress:
        for selected, records in work:
            task = progress.add_task(selected.function, total=records)

            def advance(_: ParkedRecord, task: Any = task) -> None:
                progress.update(task, advance=1)

            with consumer_code(template, target, selected.function) as code:
                done = redrive(code.parking(), code.deliver, stream, progress=advance)
            outcomes += [(selected, outcome) for outcome in done]
    return outcomes


@contextmanager
def consumer_code(template: Template, target: Target, function: str) -> Iterator[StreamConsumer]:
    """The function's handler (its batch code and parking lot) with its environment from the template,
    resolved against ``target``; the process's environment and caches are restored afterwards."""
    physical = {logical: name for logical, (_, name) in target.resources.items()}
    environment = function_environment(template, template.functions[function], physical)
    region = target.session.region_name or "us-east-1"
    environment |= {"AWS_DEFAULT_REGION": region, "AWS_REGION": region}
    saved = dict(os.environ)
    os.environ.update(environment)
    if target.endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = target.endpoint_url
    runtime.reset()
    try:
        code = getattr(load_handler(template.functions[function]), "consumer", None)
        if not isinstance(code, StreamConsumer) or not code.parks:
            raise ShopctlError(f"{function}'s handler is not a stream consumer that parks")
        yield code
    finally:
        os.environ.clear()
        os.environ.update(saved)
        runtime.reset()


def as_document(consumer: Consumer, outcome: Redriven) -> dict[str, Any]:
    return {
        "consumer": consumer.function,
        "streamId": outcome.stream_id,
        "delivered": outcome.delivered,
        "remaining": outcome.remaining,
        "released": outcome.released,
        "stopped": failure_document(outcome.stopped),
    }


def show(target: Target, outcomes: list[tuple[Consumer, Redriven]]) -> None:
    if not outcomes:
        console.print(f"Nothing is parked at {target.description}.")
        return
    console.print(f"[bold]Redriven at {target.description}[/]")
    for consumer, outcome in outcomes:
        stopped = outcome.stopped
        result = "released" if stopped is None else f"stopped at v{stopped.version}: {stopped.error}"
        console.print(
            f"  {consumer.function}  {outcome.stream_id}: {outcome.delivered} delivered, "
            f"{outcome.remaining} still parked; {result}",
            soft_wrap=True,
            markup=False,
        )
