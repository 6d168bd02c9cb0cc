"""CatalogProjector's writes per event, before and after coalescing a batch's streams per read row.

Before: one read and one conditional write per *source stream* per batch (a product's row is
written once for ``product-<id>`` and once for ``stock-<id>``). After: one read and one write per
*row* per batch (``ProjectionEngine.project_together``). "Before" is the same code with
``project_together`` projecting each stream alone (``per_stream``), which is what the engine did.

Two measurements (``python -m bench.coalescing``):

* **in process** (moto, ``in_process_stack``): every DynamoDB request of the projector recorded,
  WCU computed from the item sizes as ``bench.capacity`` does, plus the writes to the
  ``ByCategory`` and ``ByName`` indexes (both ``ALL`` projections: a change to a listed row writes
  each index once, a change of an index key twice). Batches are what one ``pump`` delivers: every
  commit since the last one (BatchSize 100), as a batching window or a backlog would gather them;
* **local stack** (processes, stream polling every 50 ms like the default ``make run``; the
  function's ``MaximumBatchingWindowInSeconds`` 0 as in template.yaml, and 1 s from a copy of the
  template): ``UpdateItem`` requests on ProductsView per event, from the stack's call log, and the
  projection lag (command answered -> Query API shows it).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.capacity import Call, Recorder, RecordingClient, item_size, write_units
from bench.catalog import expect, product_body, recorded_stack
from bench.localstack import run_clients
from local.aws.apigw import HttpResponse
from local.stack.client import call as _call
from local.stack.process import start
from shop.projection.engine import ProjectionEngine

ROOT = Path(__file__).resolve().parent.parent
#: ProductsView's indexes (template.yaml): name -> its key attributes; both project ALL attributes.
INDEXES = {"ByCategory": ("activeCategory", "nameKey"), "ByName": ("activeListing", "nameKey")}


@dataclass
class ViewCall:
    """A recorded request with the table it was for and, for a ProductsView write, its index WCU."""

    call: Call
    table: str
    index_wcu: int = 0


class ViewRecorder(Recorder):
    def __init__(self) -> None:
        super().__init__()
        self.view_calls: list[ViewCall] = []

    def clear(self) -> None:
        super().clear()
        self.view_calls.clear()


class ViewRecordingClient(RecordingClient):
    """``RecordingClient`` that also keeps each request's table, and the index writes of an update."""

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute) or name.startswith(("get_paginator", "get_waiter", "can_", "close")):
            return attribute

        def recorded(**kwargs: Any) -> Any:
            operation = self._client.meta.method_to_api_mapping.get(name, name)
            table = str(kwargs.get("TableName", ""))
            before = self._read_back(table, kwargs["Key"]) if operation == "UpdateItem" else None
            response = attribute(**kwargs)
            cost = self._cost(operation, kwargs, response)
            self._recorder.calls.append(cost)
            recorder = self._recorder
            if isinstance(recorder, ViewRecorder):
                index_wcu = 0
                if operation == "UpdateItem":
                    index_wcu = index_write_units(before or {}, self._read_back(table, kwargs["Key"]) or {})
                recorder.view_calls.append(ViewCall(cost, table, index_wcu))
            return response

        return recorded


def index_write_units(before: Mapping[str, Any], after: Mapping[str, Any]) -> int:
    """WCU the indexes take for a change from ``before`` to ``after`` (DynamoDB's rules: an item
    entering an index is a put, leaving it a delete, changing an index key both, any other change
    of an item in an ``ALL`` index one update; each 1 WCU per KB of the index entry)."""
    units = 0
    for keys in INDEXES.values():
        was = all(k in before for k in keys)
        now = all(k in after for k in keys)
        if was and now:
            if any(before[k] != after[k] for k in keys):
                units += write_units(item_size(before)) + write_units(item_size(after))
            elif before != after:
                units += write_units(item_size(after))
        elif now:
            units += write_units(item_size(after))
        elif was:
            units += write_units(item_size(before))
    return units


@contextmanager
def per_stream() -> Iterator[None]:
    """The engine as it was: each stream of a batch projected alone (one read, one write each)."""
    coalesced = ProjectionEngine.project_together

    def alone(self: ProjectionEngine, delivered: Mapping[str, Any]) -> dict[str, Exception | None]:
        outcomes: dict[str, Exception | None] = {}
        for stream_id, events in delivered.items():
            try:
                self.project(stream_id, events)
            except Exception as error:  # an outcome, as project_together's
                outcomes[stream_id] = error
            else:
                outcomes[stream_id] = None
        return outcomes

    ProjectionEngine.project_together = alone  # type: ignore[method-assign]
    try:
        yield
    finally:
        ProjectionEngine.project_together = coalesced  # type: ignore[method-assign]


@dataclass
class Row:
    scenario: str
    mode: str
    events: int
    reads: int
    writes: int
    wcu: int
    index_wcu: int
    rcu: float

    @property
    def writes_per_event(self) -> float:
        return self.writes / self.events

    @property
    def wcu_per_event(self) -> float:
        return (self.wcu + self.index_wcu) / self.events


#: A scenario sends commands (each one event) through ``send`` and pumps with ``pump``.
Scenario = Callable[[Callable[[str, str, Any], Any], Callable[[], int]], int]


def seed(send: Callable[[str, str, Any], Any], pump: Callable[[], int]) -> int:
    """The demo seed (local/demo/seed.py): 9 products created, 8 given stock; then one pump."""
    from local.demo.seed import DEMO_PRODUCTS  # noqa: PLC0415

    events = 0
    for sku, name, category, cents, units, _ in DEMO_PRODUCTS:
        body = product_body(sku, name, category) | {"price": {"amount": cents, "currency": "EUR"}}
        product_id = send("POST", "/products", body)["productId"]
        events += 1
        if units:
            send("POST", f"/products/{product_id}/stock", {"quantity": units})
            events += 1
    pump()
    return events


def burst(rounds: int, products: int, *, pump_each: bool = False) -> Scenario:
    """``products`` new products, then ``rounds`` rounds of a price change and a stock receipt for
    each; one pump after all of them (a busy minute: batches hold several commits of a row), or
    after each command (``pump_each``: a quiet shop, a batch per commit)."""

    def scenario(send: Callable[[str, str, Any], Any], pump: Callable[[], int]) -> int:
        ids = [
            send("POST", "/products", product_body(f"BURST-{uuid.uuid4().hex[:8]}", f"Burst {n}"))[
                "productId"
            ]
            for n in range(products)
        ]
        pump()
        events = products
        for round_ in range(rounds):
            for product_id in ids:
                send("PUT", f"/products/{product_id}/price", {"amount": 1000 + round_, "currency": "EUR"})
                if pump_each:
                    pump()
                send("POST", f"/products/{product_id}/stock", {"quantity": 1 + round_})
                if pump_each:
                    pump()
                events += 2
        pump()
        return events

    return scenario


SCENARIOS: dict[str, Scenario] = {
    "demo seed (9 products, 8 with stock), one batch": seed,
    "burst: 5 products x 10 rounds of price + stock, one batch per 100 records": burst(10, 5),
    "quiet: 5 products x 2 rounds, each commit its own batch": burst(2, 5, pump_each=True),
}


def run_in_process() -> list[Row]:
    rows = []
    for scenario_name, scenario in SCENARIOS.items():
        for mode in ("per stream (before)", "per row (after)"):
            recorder = ViewRecorder()

            def recording(client: Any, _: Recorder, read_back: Any, recorder: ViewRecorder = recorder) -> Any:
                return ViewRecordingClient(client, recorder, read_back)

            with recorded_stack(recording) as (stack, _), _mode(mode):  # type: ignore[arg-type]

                def send(method: str, path: str, body: Any, stack: Any = stack) -> Any:
                    response = stack.command(method, path, body)
                    return expect(201 if method == "POST" and path == "/products" else 200, response).json()

                recorder.clear()
                events = scenario(send, stack.pump)
            view = [c for c in recorder.view_calls if c.table.startswith("ProductsView")]
            writes = [c for c in view if c.call.operation == "UpdateItem"]
            reads = [c for c in view if c.call.operation == "GetItem"]
            rows.append(
                Row(
                    scenario_name,
                    mode,
                    events,
                    len(reads),
                    len(writes),
                    int(sum(c.call.wcu for c in writes)),
                    sum(c.index_wcu for c in writes),
                    sum(c.call.rcu for c in reads),
                )
            )
    return rows


@contextmanager
def _mode(mode: str) -> Iterator[None]:
    if mode.startswith("per stream"):
        with per_stream():
            yield
    else:
        yield


def in_process_table(rows: list[Row]) -> str:
    header = (
        "| Scenario | Projector | Events | ProductsView `GetItem` | `UpdateItem` |"
        " Writes per event | WCU (table + indexes) | WCU per event |"
    )
    lines = [header, "|---|---|---:|---:|---:|---:|---:|---:|"]
    lines.extend(
        f"| {row.scenario} | {row.mode} | {row.events} | {row.reads} | {row.writes} | "
        f"{row.writes_per_event:.2f} | {row.wcu} + {row.index_wcu} | {row.wcu_per_event:.2f} |"
        for row in rows
    )
    return "\n".join(lines)


# --- the local stack: real polling, batching window 0 vs 1 s -----------------------------------------

CLIENTS = 2
PRODUCTS = 10
COMMANDS = 200
LAG_SAMPLES = 30


def call(method: str, url: str, body: Any = None, *, token: str | None = None) -> HttpResponse:
    """``local.stack.client.call`` with room for a busy machine (2 cores shared)."""
    return _call(method, url, body, timeout=120, token=token)


@dataclass
class StackRun:
    window: float
    events: int
    writes: int
    reads: int
    seconds: float
    lag_ms: dict[str, float]

    @property
    def writes_per_event(self) -> float:
        return self.writes / self.events


def _template_with_window(window: float) -> Path:
    """A copy of template.yaml (next to it: CodeUris stay relative) with CatalogProjector's
    ``MaximumBatchingWindowInSeconds`` set to ``window``."""
    text = (ROOT / "template.yaml").read_text()
    start_at = text.index("  CatalogProjector:\n")
    at = text.index("MaximumBatchingWindowInSeconds: 0", start_at)
    text = (
        text[:at]
        + f"MaximumBatchingWindowInSeconds: {window:g}"
        + text[at + len("MaximumBatchingWindowInSeconds: 0") :]
    )
    handle, name = tempfile.mkstemp(prefix=".bench-window-", suffix=".yaml", dir=ROOT)
    os.close(handle)
    path = Path(name)
    path.write_text(text)
    return path


def run_local_stack(window: float) -> StackRun:
    template = _template_with_window(window) if window else None
    call_log = Path(tempfile.mkstemp(prefix="bench-calls-", suffix=".jsonl")[1])
    stack = start(template, SEED="0", POLL_INTERVAL="0.05", LOCAL_CALL_LOG=str(call_log))
    try:
        token = stack.tokens["admin"]
        ids = [
            call(
                "POST",
                f"{stack.command}/products",
                product_body(f"WIN-{uuid.uuid4().hex[:8]}", f"Window {n}"),
                token=token,
            ).json()["productId"]
            for n in range(PRODUCTS)
        ]
        _settle(stack, ids[-1], 1)
        marks = _view_calls(call_log)
        lags: list[float] = []

        def one_command(index: int) -> None:
            product = ids[(index // 2) % PRODUCTS]  # a price change and a receipt each
            if index % 2:
                reply = call(
                    "POST", f"{stack.command}/products/{product}/stock", {"quantity": 1}, token=token
                )
            else:
                reply = call(
                    "PUT",
                    f"{stack.command}/products/{product}/price",
                    {"amount": 2000 + index, "currency": "EUR"},
                    token=token,
                )
            if reply.status != 200:
                raise RuntimeError(reply.body)
            if index % (COMMANDS // LAG_SAMPLES) == 0 and not index % 2:
                answered = time.perf_counter()
                version = reply.json()["version"]
                while call("GET", f"{stack.query}/products/{product}").json()["version"] < version:
                    time.sleep(0.005)
                lags.append(time.perf_counter() - answered)

        seconds = run_clients(list(range(COMMANDS)), one_command, CLIENTS)
        for product in ids:  # every stock receipt projected: 1 + COMMANDS / 2 / PRODUCTS units each
            _settle(stack, product, COMMANDS // 2 // PRODUCTS, attribute="available")
        time.sleep(0.5)
        reads, writes = (a - b for a, b in zip(_view_calls(call_log), marks, strict=True))
    finally:
        stack.stop()
        if template is not None:
            template.unlink(missing_ok=True)
        call_log.unlink(missing_ok=True)
    ordered = sorted(lags)
    return StackRun(
        window,
        COMMANDS,
        writes,
        reads,
        seconds,
        {
            "p50": statistics.median(ordered) * 1000,
            "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000,
        },
    )


def _settle(
    stack: Any, product: str, at_least: int, *, attribute: str = "version", timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = call("GET", f"{stack.query}/products/{product}")
        if reply.status == 200 and int(reply.json().get(attribute, 0)) >= at_least:
            return
        time.sleep(0.05)
    raise TimeoutError(f"{product}: {attribute} did not reach {at_least}")


def _view_calls(call_log: Path) -> tuple[int, int]:
    """CatalogProjector's (GetItem, UpdateItem) requests on ProductsView so far."""
    reads = writes = 0
    if not call_log.exists():
        return 0, 0
    for line in call_log.read_text().splitlines():
        document = json.loads(line)
        if document.get("function") != "CatalogProjector" or not re.match(
            r"ProductsView", str(document.get("TableName", ""))
        ):
            continue
        reads += document["operation"] == "GetItem"
        writes += document["operation"] == "UpdateItem"
    return reads, writes


def stack_table(runs: list[tuple[str, StackRun]]) -> str:
    header = (
        "| Projector | `MaximumBatchingWindowInSeconds` | Events | `GetItem` | `UpdateItem` |"
        " Writes per event | Lag p50 | Lag p95 |"
    )
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for mode, run in runs:
        lines.append(
            f"| {mode} | {run.window:g} | {run.events} | {run.reads} | {run.writes} | "
            f"{run.writes_per_event:.2f} | {run.lag_ms['p50']:.0f} ms | {run.lag_ms['p95']:.0f} ms |"
        )
    return "\n".join(lines)


def section() -> str:
    """The in-process measurement as a docs/performance.md section (for ``bench/__main__.py``)."""
    return "\n".join(
        [
            "## Projector writes per event: coalescing per read row",
            "",
            "CatalogProjector's ProductsView requests in process on moto, each stream alone (before) and",
            "the streams of a row together (after); WCU from item sizes, plus the `ByCategory` and",
            "`ByName` index writes. The local-stack figures (batching window 0 and 1 s) and what they",
            "mean: docs/architecture.md, *Coalescing: what it saves* (`python -m bench.coalescing`).",
            "",
            in_process_table(run_in_process()),
        ]
    )


def main() -> None:
    print(in_process_table(run_in_process()))
    print()
    print(stack_table([("per row (after)", run_local_stack(window)) for window in (0.0, 1.0)]))


if __name__ == "__main__":
    main()
