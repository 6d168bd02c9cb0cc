"""What snapshots change in the cost of loading a cart or a product (docs/snapshots.md).

``python -m bench.snapshots`` builds a cart and a product of 1050 events each through the real
command handlers (moto in process, ``SNAPSHOT_EVERY`` 50), reads back the sizes of the items they
left (every commit of each stream, and each stream's snapshot), and computes by DynamoDB's sizing
rules (``bench/capacity.py``) what one load costs at 10, 100 and 1000 events:

* without snapshots: one strongly consistent ``Query`` of every commit (1 RCU per 4 KB of items);
* with snapshots: one eventually consistent ``GetItem`` of the snapshot (0.5 RCU per 4 KB; a miss
  costs 0.5 too), plus a ``Query`` from the snapshot's last commit on: one commit right after a
  snapshot, 50 at worst (49 events later).

It checks the computation against a real command on each stream at 1050 events, without and with
snapshots (every DynamoDB call recorded with its table), and measures the snapshot of a cart with
the most lines a cart may hold (50). Prints Markdown.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.capacity import Call, Recorder, RecordingClient, item_size, read_units, write_units
from bench.catalog import expect, product_body, recorded_stack
from local.stack.stack import Stack
from shop import runtime

LENGTHS = (10, 100, 1000)
EVERY = 50
#: Long enough for the worst case after the longest length.
BUILT = max(LENGTHS) + EVERY


@dataclass
class TableCall(Call):
    table: str = ""


class TableRecordingClient(RecordingClient):
    """Records, with each call, the table it was made on."""

    def _cost(self, operation: str, request: Any, response: Any) -> Call:
        call = super()._cost(operation, request, response)
        return TableCall(call.operation, call.wcu, call.rcu, call.item_bytes, request.get("TableName", ""))


def snapshot_every(events: int) -> None:
    os.environ["SNAPSHOT_EVERY"] = str(events)
    runtime.reset()


@dataclass(frozen=True)
class Stream:
    kind: str
    stream_id: str
    events_table: str
    snapshots_table: str
    command: Callable[[int], Any]  # one more event on the stream (n: a changing value)


@dataclass(frozen=True)
class Row:
    kind: str
    events: int
    without: float
    with_best: float
    with_mean: float
    with_worst: float


@dataclass(frozen=True)
class Check:
    kind: str
    without: float
    with_snapshot: float
    computed_without: float
    computed_with: float


def commit_sizes(stack: Stack, stream: Stream) -> list[int]:
    query: dict[str, Any] = {
        "TableName": stack.physical[stream.events_table],
        "KeyConditionExpression": "streamId = :s",
        "ExpressionAttributeValues": {":s": {"S": stream.stream_id}},
    }
    sizes: list[int] = []
    while True:
        page = stack.clients.dynamodb.query(**query)
        sizes += [item_size(item) for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return sizes
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def snapshot_item(stack: Stack, table: str, stream_id: str) -> dict[str, Any]:
    answer = stack.clients.dynamodb.get_item(
        TableName=stack.physical[table], Key={"streamId": {"S": stream_id}}
    )
    item: dict[str, Any] = answer["Item"]
    return item


def new_products(stack: Stack, count: int, prefix: str) -> list[str]:
    created = [
        expect(
            201, stack.command("POST", "/products", product_body(f"{prefix}-{n}", f"Product {prefix} {n}"))
        )
        for n in range(count)
    ]
    stack.pump()
    return [str(response.json()["productId"]) for response in created]


def new_cart(stack: Stack, products: list[str]) -> str:
    cart = str(expect(201, stack.command("POST", "/carts", {}, as_user="alice")).json()["cartId"])
    for product in products:
        line = {"productId": product, "quantity": 1}
        expect(200, stack.command("POST", f"/carts/{cart}/items", line, as_user="alice"))
    return cart


def cart_stream(stack: Stack) -> Stream:
    """A cart of three lines whose quantities keep changing: one event per command."""
    products = new_products(stack, 3, "LINE")
    cart = new_cart(stack, products)

    def command(n: int) -> Any:
        path = f"/carts/{cart}/items/{products[n % 3]}"
        return expect(200, stack.command("PUT", path, {"quantity": 2 + n % 2}, as_user="alice"))

    return Stream("Cart (3 lines)", f"cart-{cart}", "CartEventStore", "CartSnapshotStore", command)


def product_stream(stack: Stack) -> Stream:
    """A product whose price keeps changing: one event per command."""
    product = new_products(stack, 1, "LONG")[0]

    def command(n: int) -> Any:
        price = {"amount": 1300 + n % 2, "currency": "EUR"}
        return expect(200, stack.command("PUT", f"/products/{product}/price", price))

    return Stream("Product", f"product-{product}", "CatalogEventStore", "CatalogSnapshotStore", command)


def computed(sizes: list[int], snapshot_bytes: int) -> list[tuple[int, float, float, float, float]]:
    """(events, without, with: right after a snapshot, on average over the 50 positions after one,
    49 events after one) in RCU."""
    snapshot_read = read_units(snapshot_bytes, consistent=False)
    result = []
    for events in LENGTHS:
        without = read_units(sum(sizes[:events]), consistent=True)
        if events < EVERY:  # no snapshot yet: the get misses (0.5 RCU) and the whole stream is read
            result.append((events, without, 0.5 + without, 0.5 + without, 0.5 + without))
            continue
        tails = [
            snapshot_read + read_units(sum(sizes[events - 1 : events + later]), consistent=True)
            for later in range(EVERY)
        ]
        result.append((events, without, tails[0], round(sum(tails) / len(tails), 2), tails[-1]))
    return result


def reads_of(recorder: Recorder, stack: Stack, stream: Stream) -> float:
    tables = {stack.physical[stream.events_table], stack.physical[stream.snapshots_table]}
    return sum(c.rcu for c in recorder.calls if isinstance(c, TableCall) and c.table in tables)


@dataclass(frozen=True)
class Results:
    rows: list[Row]
    checks: list[Check]
    commit_bytes: dict[str, int]
    snapshot_bytes: dict[str, int]


def run() -> Results:
    snapshot_every(EVERY)
    rows: list[Row] = []
    checks: list[Check] = []
    commit_bytes: dict[str, int] = {}
    snapshot_bytes: dict[str, int] = {}
    with recorded_stack(TableRecordingClient) as (stack, recorder):
        for stream in (cart_stream(stack), product_stream(stack)):
            steps = BUILT - len(commit_sizes(stack, stream))
            for n in range(steps):
                stream.command(n)
            sizes = commit_sizes(stack, stream)
            snapshot = item_size(snapshot_item(stack, stream.snapshots_table, stream.stream_id))
            rows += [Row(stream.kind, *values) for values in computed(sizes, snapshot)]
            commit_bytes[stream.kind] = max(sizes)
            snapshot_bytes[stream.kind] = snapshot
            # One real command at BUILT events: exactly at a snapshot (BUILT is a multiple of EVERY).
            snapshot_every(0)
            recorder.clear()
            stream.command(steps)
            without = reads_of(recorder, stack, stream)
            snapshot_every(EVERY)
            recorder.clear()
            stream.command(steps + 1)
            with_snapshot = reads_of(recorder, stack, stream)
            sizes_now = commit_sizes(stack, stream)
            expected_without = read_units(sum(sizes_now[:BUILT]), consistent=True)
            # at BUILT + 1 events: the snapshot at BUILT, its commit and the one after it
            expected_with = read_units(snapshot, consistent=False) + read_units(
                sum(sizes_now[BUILT - 1 : BUILT + 1]), consistent=True
            )
            checks.append(Check(stream.kind, without, with_snapshot, expected_without, expected_with))
        full = new_cart(stack, new_products(stack, 50, "FULL"))
        snapshot_every(1)  # a snapshot of the full cart at its next command
        expect(202, stack.command("POST", f"/carts/{full}/checkout", as_user="alice"))
        snapshot_bytes["Cart (50 lines, the most)"] = item_size(
            snapshot_item(stack, "CartSnapshotStore", f"cart-{full}")
        )
    return Results(rows, checks, commit_bytes, snapshot_bytes)


def number(value: float) -> str:
    return f"{value:g}"


def table(results: Results) -> str:
    lines = [
        "| Stream | Events | Without snapshots | With: after a snapshot | With: mean | With: 49 later |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.kind} | {r.events} | {number(r.without)} RCU "
        f"| {number(r.with_best)} RCU | {number(r.with_mean)} RCU | {number(r.with_worst)} RCU |"
        for r in results.rows
    ]
    lines += [
        "",
        "| Stream | Largest commit | Snapshot item | Snapshot write | Snapshot read |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind, size in results.snapshot_bytes.items():
        commit = results.commit_bytes.get(kind)
        lines.append(
            f"| {kind} | {f'{commit} B' if commit else '—'} | {size} B | {write_units(size)} WCU "
            f"| {number(read_units(size, consistent=False))} RCU |"
        )
    lines += [
        "",
        f"| Real command at {BUILT + 1} events | Recorded reads without | computed | with | computed |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {c.kind} | {number(c.without)} RCU | {number(c.computed_without)} RCU "
        f"| {number(c.with_snapshot)} RCU | {number(c.computed_with)} RCU |"
        for c in results.checks
    ]
    return "\n".join(lines)


def main() -> None:
    print(table(run()))


if __name__ == "__main__":
    main()
