"""Replay every event store through the real projections and check the system's invariants.

Reads every item of the three event stores and the three read tables (``Scan``, every page,
``ConsistentRead``) through a DynamoDB client, then checks:

* **store**: every commit decodes; each stream's versions run 1, 2, 3 ... with no gap and no
  duplicate; every event id is unique across all stores;
* **view**: every stream, replayed through the projection its projector runs (``ProjectionEngine``
  and ``Projection.apply``, into in-memory rows), gives exactly the row the read table holds,
  attribute by attribute; no row lacks its events, no replayed row is missing;
* **order-status**: every order's status matches its ``reservation-<orderId>`` stream (confirmed
  <-> ``CONFIRMED``; released or voided <-> ``CANCELLED``; rejected <-> ``REJECTED``, or
  ``CANCELLED`` if the cancellation came first), and the units the stock streams reserve and
  release for it are the reservation's lines; **pending**: no order is still ``PENDING``;
* **causation**: an event a policy wrote names as cause an existing event of the type that
  triggers that policy, about the same order, in the same correlation and with the same actor;
  an event a command wrote names its request (the API Gateway request id), which is no event,
  and an actor (the caller's ``sub``);
* **stock**: ``available == received - reserved + released`` for every product, never negative
  at any version, and ``ProductsView`` shows that value.

The checks hold only once the system has settled (every stream consumer idle): run them then.

By hand, against ``make run`` (exit status 1 when anything is found)::

    .venv/bin/python -m tests.support.replay --endpoint-url http://127.0.0.1:4566
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shop.cart.events import cart_events
from shop.cart.projection import CartsProjection
from shop.catalog.domain import ReservationState, StockReservation
from shop.catalog.events import StockReceived, StockReleased, StockReserved, catalog_events
from shop.catalog.projection import ProductsProjection
from shop.ddb import from_item
from shop.domain.events import DomainEvent, EventRegistry
from shop.errors import UnreadableEvent
from shop.eventstore.codec import decode_commit
from shop.eventstore.memory import InMemoryEventStore
from shop.eventstore.model import NewEvent, RecordedEvent, StreamWrite
from shop.orders.domain import Order, OrderStatus
from shop.orders.events import order_events
from shop.orders.projection import OrdersProjection
from shop.projection.engine import Projection, ProjectionEngine
from shop.views.memory import InMemoryView

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Item = Mapping[str, Mapping[str, Any]]
Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Service:
    """One service's event store, the read table its projector writes, and that projection."""

    store: str
    view: str
    key: str
    projection: Projection
    registry: EventRegistry


SERVICES = (
    Service("CatalogEventStore", "ProductsView", "productId", ProductsProjection(), catalog_events),
    Service("CartEventStore", "CartsView", "cartId", CartsProjection(), cart_events),
    Service("OrderEventStore", "OrdersView", "orderId", OrdersProjection(), order_events),
)
CATALOG, CART, ORDERS = (service.store for service in SERVICES)
#: Logical ids of every table read, as ``template.yaml`` names them.
TABLES = tuple(name for service in SERVICES for name in (service.store, service.view))

#: Events written by policies, and the event types that trigger the policy writing each. Every
#: other event is written by a command function and caused by an HTTP request.
POLICY_CAUSES: Mapping[str, frozenset[str]] = {
    "OrderPlaced": frozenset({"CartCheckedOut"}),
    "OrderConfirmed": frozenset({"StockReservationConfirmed"}),
    "OrderRejected": frozenset({"StockReservationRejected"}),
    "StockReserved": frozenset({"OrderPlaced"}),
    "StockReservationConfirmed": frozenset({"OrderPlaced"}),
    "StockReservationRejected": frozenset({"OrderPlaced"}),
    "StockReleased": frozenset({"OrderCancelled"}),
    "StockReservationReleased": frozenset({"OrderCancelled"}),
    "StockReservationVoided": frozenset({"OrderCancelled"}),
}

#: Order statuses each final reservation state allows once the system has settled.
ALLOWED_STATUSES: Mapping[ReservationState, frozenset[OrderStatus]] = {
    ReservationState.CONFIRMED: frozenset({OrderStatus.CONFIRMED}),
    ReservationState.RELEASED: frozenset({OrderStatus.CANCELLED}),
    ReservationState.VOIDED: frozenset({OrderStatus.CANCELLED}),
    ReservationState.REJECTED: frozenset({OrderStatus.REJECTED, OrderStatus.CANCELLED}),
    ReservationState.NONE: frozenset(),
}


# ------------------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every item of the stores and read tables, low-level ``AttributeValue`` form, by logical id."""

    items: Mapping[str, Sequence[Item]]

    def fingerprint(self) -> str:
        """Equal for equal contents, whatever order the scans returned the items in."""
        digest = hashlib.sha256()
        for table in sorted(self.items):
            digest.update(table.encode())
            for text in sorted(json.dumps(item, sort_keys=True, default=str) for item in self.items[table]):
                digest.update(text.encode())
        return digest.hexdigest()


def scan_table(client: DynamoDBClient, table_name: str) -> list[dict[str, Any]]:
    """Every item of a table: all pages of a strongly consistent ``Scan``."""
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {"TableName": table_name, "ConsistentRead": True}
    while True:
        page = client.scan(**request)
        items.extend(page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def read_snapshot(client: DynamoDBClient, physical: Mapping[str, str] | None = None) -> Snapshot:
    """Scan every store and read table; ``physical`` maps logical ids to table names (default: same)."""
    names = physical or {}
    return Snapshot({logical: scan_table(client, names.get(logical, logical)) for logical in TABLES})


# ------------------------------------------------------------------------------------ findings


@dataclass(frozen=True, slots=True)
class Finding:
    """One broken invariant: which check, about which aggregate (its id), where, and how."""

    check: str
    entity: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.subject}: {self.detail}"


def aggregate_id(stream_id: str) -> str:
    """``reservation-<id>`` -> ``<id>``: the id every view row and related stream shares."""
    return stream_id.partition("-")[2]


def _finding(check: str, stream_id: str, detail: str) -> Finding:
    return Finding(check, aggregate_id(stream_id), stream_id, detail)


# -------------------------------------------------------------------------------------- replay


@dataclass
class Replay:
    """The stores as the checker read them, and the rows their projections give."""

    #: store -> stream id -> events in version order (the valid prefix when a stream is broken)
    streams: dict[str, dict[str, list[RecordedEvent]]] = field(default_factory=dict)
    #: read table -> row key -> row
    rows: dict[str, dict[str, Row]] = field(default_factory=dict)
    #: event id -> the event's payload, for every event that decodes
    decoded: dict[str, DomainEvent] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def history(self, events: Iterable[RecordedEvent]) -> list[DomainEvent]:
        return [self.decoded[e.event_id] for e in events if e.event_id in self.decoded]

    def events(self) -> Iterable[RecordedEvent]:
        for streams in self.streams.values():
            for events in streams.values():
                yield from events


def replay(snapshot: Snapshot) -> Replay:
    result = Replay()
    for service in SERVICES:
        store = _load_store(snapshot.items.get(service.store, ()), service.registry, result.findings)
        streams = result.streams[service.store] = store.streams()
        for event in (event for events in streams.values() for event in events):
            try:
                result.decoded[event.event_id] = service.registry.decode(event.type, event.data)
            except (ValueError, LookupError) as error:
                detail = f"{event.type} v{event.version} does not decode: {type(error).__name__}"
                result.findings.append(_finding("store", event.stream_id, detail))
        table = InMemoryView()
        engine = ProjectionEngine(service.projection, table, store.store)
        for stream_id, events in sorted(streams.items()):
            try:
                engine.project(stream_id, events)
            except Exception as error:  # a stream that cannot project is a finding
                result.findings.append(
                    _finding("view", stream_id, f"replay failed: {type(error).__name__}: {error}")
                )
        result.rows[service.view] = {
            str(dict(key)[service.key]): row for key, row in sorted(table.rows.items())
        }
    seen = Counter(event.event_id for event in result.events())
    for event in result.events():
        if seen[event.event_id] > 1:
            result.findings.append(
                _finding(
                    "store", event.stream_id, f"event id {event.event_id} occurs {seen[event.event_id]}x"
                )
            )
    return result


@dataclass
class _LoadedStore:
    store: InMemoryEventStore = field(default_factory=InMemoryEventStore)
    stream_ids: set[str] = field(default_factory=set)

    def streams(self) -> dict[str, list[RecordedEvent]]:
        return {stream_id: self.store.load(stream_id) for stream_id in sorted(self.stream_ids)}


def _load_store(items: Iterable[Item], registry: EventRegistry, findings: list[Finding]) -> _LoadedStore:
    """Decode every commit (upcast to the current versions, as every reader does) and append the
    valid ones, in version order, to an in-memory store."""
    commits: dict[str, list[list[RecordedEvent]]] = defaultdict(list)
    for item in items:
        stream_id = str(item.get("streamId", {}).get("S", "?"))
        try:
            commits[stream_id].append(decode_commit(item, upcaster=registry))
        except (KeyError, ValueError, TypeError, UnreadableEvent) as error:
            version = item.get("version", {}).get("N", "?")
            findings.append(
                _finding("store", stream_id, f"commit at version {version} does not decode: {error!r}")
            )
    loaded = _LoadedStore()
    for stream_id, stream_commits in sorted(commits.items()):
        loaded.stream_ids.add(stream_id)
        last, broken = 0, False
        for events in sorted(stream_commits, key=lambda c: c[0].version if c else 0):
            if not events:
                findings.append(_finding("store", stream_id, "a commit holds no events"))
                continue
            first = events[0].version
            if first <= last:
                findings.append(_finding("store", stream_id, f"version {first} again (after version {last})"))
                continue
            if first > last + 1:
                findings.append(
                    _finding("store", stream_id, f"gap: versions {last + 1}..{first - 1} missing")
                )
                broken = True  # the replay keeps the valid prefix
            if not broken:
                new_events = [
                    NewEvent(e.type, e.data, e.schema_version, e.event_id, e.occurred_at) for e in events
                ]
                loaded.store.append_all([StreamWrite(stream_id, last, new_events)], events[0].metadata)
            last = events[-1].version
    return loaded


# ------------------------------------------------------------------------------------- checking


@dataclass(frozen=True, slots=True)
class Report:
    findings: tuple[Finding, ...]
    #: order id -> status its stream gives
    orders: Mapping[str, str]
    #: product id -> available its stock stream gives
    stock: Mapping[str, int]
    #: stream and event counts per store, rows per read table (whole tables, not scoped)
    counts: Mapping[str, int]

    @property
    def ok(self) -> bool:
        return not self.findings

    def only(self, entities: Collection[str]) -> Report:
        """The part of the report about these aggregates (product, cart and order ids)."""
        wanted = set(entities)
        return Report(
            tuple(f for f in self.findings if f.entity in wanted),
            {k: v for k, v in self.orders.items() if k in wanted},
            {k: v for k, v in self.stock.items() if k in wanted},
            self.counts,
        )

    def by_check(self) -> Counter[str]:
        return Counter(finding.check for finding in self.findings)

    def summary(self, limit: int = 60) -> str:
        statuses = Counter(self.orders.values())
        lines = [
            "tables: " + ", ".join(f"{name} {count}" for name, count in self.counts.items()),
            f"orders: {len(self.orders)}" + _counted(statuses),
            f"products with stock: {len(self.stock)}",
            f"findings: {len(self.findings)}" + _counted(self.by_check()),
        ]
        lines += [f"  {finding}" for finding in self.findings[:limit]]
        if len(self.findings) > limit:
            lines.append(f"  ... and {len(self.findings) - limit} more")
        return "\n".join(lines)


def _counted(counts: Counter[str]) -> str:
    return "".join(f", {name} {count}" for name, count in sorted(counts.items()))


def check(snapshot: Snapshot) -> Report:
    """Every check of this module over one snapshot."""
    replayed = replay(snapshot)
    actual = {
        service.view: _rows_by_key(snapshot.items.get(service.view, ()), service.key) for service in SERVICES
    }
    findings = list(replayed.findings)
    for service in SERVICES:
        findings += compare_rows(service.view, replayed.rows[service.view], actual[service.view])
    orders, order_findings = check_orders(replayed)
    stock, stock_findings = check_stock(replayed, actual["ProductsView"])
    findings += order_findings + check_causation(replayed) + stock_findings
    counts: dict[str, int] = {}
    for service in SERVICES:
        streams = replayed.streams[service.store]
        counts[f"{service.store} streams"] = len(streams)
        counts[f"{service.store} events"] = sum(len(events) for events in streams.values())
        counts[f"{service.view} rows"] = len(actual[service.view])
    return Report(tuple(findings), orders, stock, counts)


def _rows_by_key(items: Iterable[Item], key: str) -> dict[str, Row]:
    rows = (from_item(item) for item in items)
    return {str(row.get(key)): row for row in rows}


def compare_rows(view: str, expected: Mapping[str, Row], actual: Mapping[str, Row]) -> list[Finding]:
    """Each row of ``actual`` against its replay, attribute by attribute."""
    findings = []
    for key in sorted(expected.keys() | actual.keys()):
        subject = f"{view} {key}"
        if key not in actual:
            findings.append(Finding("view", key, subject, "row missing; the replay gives one"))
            continue
        if key not in expected:
            findings.append(Finding("view", key, subject, "row has no events in the store"))
            continue
        want, have = expected[key], actual[key]
        for attribute in sorted(want.keys() | have.keys()):
            if want.get(attribute) != have.get(attribute):
                detail = f"{attribute}: view {have.get(attribute)!r}, replay {want.get(attribute)!r}"
                findings.append(Finding("view", key, subject, detail))
    return findings


def _stream_prefixed(
    streams: Mapping[str, list[RecordedEvent]], prefix: str
) -> dict[str, list[RecordedEvent]]:
    return {aggregate_id(s): events for s, events in streams.items() if s.startswith(f"{prefix}-")}


def _moves_by_order(replayed: Replay) -> dict[str, dict[str, Counter[str]]]:
    """order id -> ``StockReserved``/``StockReleased`` -> units per product, from the stock streams."""
    moves: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for events in _stream_prefixed(replayed.streams.get(CATALOG, {}), "stock").values():
        for event in replayed.history(events):
            if isinstance(event, StockReserved | StockReleased):
                moves[event.order_id][event.type_name()][event.product_id] += event.quantity
    return moves


def check_orders(replayed: Replay) -> tuple[dict[str, str], list[Finding]]:
    """Each order's status against its reservation, and the stock moved for it."""
    orders = _stream_prefixed(replayed.streams.get(ORDERS, {}), "order")
    catalog = replayed.streams.get(CATALOG, {})
    reservations = _stream_prefixed(catalog, "reservation")
    moves = _moves_by_order(replayed)
    statuses: dict[str, str] = {}
    findings: list[Finding] = []
    for order_id in sorted(orders.keys() | reservations.keys() | moves.keys()):
        history = orders.get(order_id, [])
        order = Order.rehydrate(order_id, replayed.history(history), history[-1].version if history else 0)
        reserved = reservations.get(order_id, [])
        reservation = StockReservation.rehydrate(
            order_id, replayed.history(reserved), reserved[-1].version if reserved else 0
        )
        subject = f"order-{order_id}"
        if order.status is None:
            findings.append(
                Finding("order-status", order_id, subject, f"no order, but reservation {reservation.state}")
            )
            continue
        statuses[order_id] = order.status.value
        if order.status is OrderStatus.PENDING:
            findings.append(
                Finding("pending", order_id, subject, f"still PENDING; reservation {reservation.state}")
            )
        if order.status not in ALLOWED_STATUSES[reservation.state] and not (
            order.status is OrderStatus.PENDING and reservation.state is ReservationState.NONE
        ):
            findings.append(
                Finding(
                    "order-status",
                    order_id,
                    subject,
                    f"order {order.status} but reservation-{order_id} {reservation.state}",
                )
            )
        findings += _check_moves(order, reservation, moves.get(order_id, {}))
    return statuses, findings


def _check_moves(
    order: Order, reservation: StockReservation, moved: Mapping[str, Counter[str]]
) -> list[Finding]:
    ordered = Counter[str]()
    for line in order.lines:
        ordered[line.product_id] += line.quantity
    lines = Counter[str]()
    for reserved_line in reservation.lines:
        lines[reserved_line.product_id] += reserved_line.quantity
    state = reservation.state
    expected_reserved = (
        lines if state in (ReservationState.CONFIRMED, ReservationState.RELEASED) else Counter()
    )
    expected_released = lines if state is ReservationState.RELEASED else Counter()
    subject = f"reservation-{order.id}"
    findings = []
    if lines and lines != ordered:
        findings.append(
            Finding(
                "order-status", order.id, subject, f"reserves {dict(lines)}, the order has {dict(ordered)}"
            )
        )
    for kind, expected in (("StockReserved", expected_reserved), ("StockReleased", expected_released)):
        actual = moved.get(kind, Counter())
        if +actual != +expected:
            detail = f"{kind} on stock streams {dict(actual)}, reservation {state} implies {dict(expected)}"
            findings.append(Finding("stock", order.id, subject, detail))
    return findings


def check_causation(replayed: Replay) -> list[Finding]:
    """Policy events name an existing cause of the right type, order, correlation and actor."""
    index = {event.event_id: event for event in replayed.events()}
    findings = []
    for event in replayed.events():
        cause_id = event.metadata.causation_id
        label = f"{event.type} v{event.version}"
        expected_causes = POLICY_CAUSES.get(event.type)
        if expected_causes is None:
            if not event.metadata.actor:
                findings.append(_finding("causation", event.stream_id, f"{label} names no actor"))
            if not cause_id:
                findings.append(_finding("causation", event.stream_id, f"{label} names no cause"))
            elif cause_id in index:
                detail = f"{label} is written by a command but names event {cause_id} as cause"
                findings.append(_finding("causation", event.stream_id, detail))
            continue
        cause = index.get(cause_id)
        if cause is None:
            detail = f"{label} names causation id {cause_id}, which is no event in any store"
            findings.append(_finding("causation", event.stream_id, detail))
            continue
        if cause.type not in expected_causes:
            detail = f"{label} is caused by {cause.type} {cause.event_id}, not {' or '.join(expected_causes)}"
            findings.append(_finding("causation", event.stream_id, detail))
        elif cause.data.get("orderId") != _order_of(event):
            detail = f"{label} is caused by the {cause.type} of order {cause.data.get('orderId')}"
            findings.append(_finding("causation", event.stream_id, detail))
        if cause.metadata.correlation_id != event.metadata.correlation_id:
            detail = (
                f"{label} correlation {event.metadata.correlation_id} differs from its cause's "
                f"{cause.metadata.correlation_id}"
            )
            findings.append(_finding("causation", event.stream_id, detail))
        if cause.metadata.actor != event.metadata.actor:
            detail = f"{label} actor {event.metadata.actor} differs from its cause's {cause.metadata.actor}"
            findings.append(_finding("causation", event.stream_id, detail))
    return findings


def _order_of(event: RecordedEvent) -> str | None:
    if event.stream_id.startswith(("order-", "reservation-")):
        return aggregate_id(event.stream_id)
    order_id = event.data.get("orderId")
    return str(order_id) if order_id is not None else None


def check_stock(replayed: Replay, products: Mapping[str, Row]) -> tuple[dict[str, int], list[Finding]]:
    """``available == received - reserved + released``, never below zero, and shown by the view."""
    available: dict[str, int] = {}
    findings = []
    for product_id, events in sorted(_stream_prefixed(replayed.streams.get(CATALOG, {}), "stock").items()):
        received = reserved = released = 0
        stream_id = f"stock-{product_id}"
        negative = False
        for event in events:
            decoded = replayed.decoded.get(event.event_id)
            match decoded:
                case StockReceived():
                    received += decoded.quantity
                case StockReserved():
                    reserved += decoded.quantity
                case StockReleased():
                    released += decoded.quantity
                case _:
                    continue
            if received - reserved + released < 0 and not negative:
                negative = True
                detail = f"available {received - reserved + released} after v{event.version} ({event.type})"
                findings.append(_finding("stock", stream_id, detail))
        units = available[product_id] = received - reserved + released
        shown = products.get(product_id, {}).get("available")
        if shown != units:
            detail = (
                f"ProductsView.available {shown}, the store gives {units} "
                f"(received {received} - reserved {reserved} + released {released})"
            )
            findings.append(Finding("stock", product_id, f"ProductsView {product_id}", detail))
    return available, findings


# ------------------------------------------------------------------------------------------ CLI


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.replay",
        description="Replay the event stores and check the read tables and invariants (settled stack).",
    )
    parser.add_argument(
        "--endpoint-url", required=True, help="the local AWS endpoint, e.g. http://127.0.0.1:4566"
    )
    parser.add_argument(
        "--prefix", default="", help="table name prefix (tables are named prefix + logical id)"
    )
    parser.add_argument("--limit", type=int, default=60, help="findings to print (default 60)")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON lines")
    args = parser.parse_args(argv)

    import boto3  # noqa: PLC0415 - only the CLI needs a client of its own

    os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    client = boto3.client(
        "dynamodb",
        endpoint_url=args.endpoint_url,
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    report = check(read_snapshot(client, {logical: args.prefix + logical for logical in TABLES}))
    if args.json:
        for finding in report.findings:
            print(
                json.dumps(
                    {
                        "check": finding.check,
                        "entity": finding.entity,
                        "subject": finding.subject,
                        "detail": finding.detail,
                    }
                )
            )
    else:
        print(report.summary(args.limit))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
