"""The replay checker (``tests/support/replay.py``) passes a settled system and names every broken
invariant: each test breaks one, the way the issue-7 symptoms looked, and expects exactly it."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from shop.eventstore.codec import encode_commit
from shop.eventstore.model import EventMetadata, NewEvent
from tests.support.replay import Finding, Report, check, main, read_snapshot


def product(stack: Any, name: str, units: int) -> str:
    body = {"sku": uuid.uuid4().hex[:12], "name": name, "category": "kitchen"}
    created = stack.command("POST", "/products", {**body, "price": {"amount": 500, "currency": "EUR"}})
    assert created.status == 201, created.body
    product_id = str(created.json()["productId"])
    assert stack.command("POST", f"/products/{product_id}/stock", {"quantity": units}).status == 200
    return product_id


def checkout(stack: Any, lines: dict[str, int]) -> str:
    cart = stack.command("POST", "/carts", {"customerId": "alice"}).json()["cartId"]
    for product_id, quantity in lines.items():
        added = stack.command("POST", f"/carts/{cart}/items", {"productId": product_id, "quantity": quantity})
        assert added.status == 200, added.body
    checked_out = stack.command("POST", f"/carts/{cart}/checkout")
    assert checked_out.status == 202, checked_out.body
    return str(checked_out.json()["orderId"])


def journeys(stack: Any) -> dict[str, str]:
    """Two products; a confirmed, a rejected and a cancelled order; every consumer idle."""
    cup, mug = product(stack, "Cup", 10), product(stack, "Mug", 3)
    stack.pump()
    ids = {"cup": cup, "mug": mug, "confirmed": checkout(stack, {cup: 2, mug: 1})}
    stack.pump()
    ids["rejected"] = checkout(stack, {cup: 1, mug: 5})
    ids["cancelled"] = checkout(stack, {cup: 3})
    stack.pump()
    assert stack.command("POST", f"/orders/{ids['cancelled']}/cancel").status == 200
    stack.pump()
    return ids


@pytest.fixture
def settled(stack: Any) -> dict[str, str]:
    return journeys(stack)


def report(stack: Any) -> Report:
    return check(read_snapshot(stack.clients.dynamodb, stack.physical))


def stream_items(stack: Any, table: str, stream_id: str) -> list[dict[str, Any]]:
    return list(
        stack.clients.dynamodb.query(
            TableName=stack.physical[table],
            KeyConditionExpression="streamId = :s",
            ExpressionAttributeValues={":s": {"S": stream_id}},
        )["Items"]
    )


def last_version(stack: Any, table: str, stream_id: str) -> int:
    return max(int(item["version"]["N"]) for item in stream_items(stack, table, stream_id))


def append(
    stack: Any, table: str, stream_id: str, version: int, event: NewEvent, meta: EventMetadata
) -> None:
    """Write a commit straight into a store, as a leaked or buggy write would."""
    item = encode_commit(stream_id, version - 1, [event], meta)
    stack.clients.dynamodb.put_item(TableName=stack.physical[table], Item=item)


def set_attribute(stack: Any, table: str, key: dict[str, str], name: str, value: dict[str, str]) -> None:
    stack.clients.dynamodb.update_item(
        TableName=stack.physical[table],
        Key={k: {"S": v} for k, v in key.items()},
        UpdateExpression="SET #n = :v",
        ExpressionAttributeNames={"#n": name},
        ExpressionAttributeValues={":v": value},
    )


def test_a_settled_system_passes_every_check(stack: Any, settled: dict[str, str]) -> None:
    result = report(stack)
    assert result.findings == (), result.summary()
    assert result.orders == {
        settled["confirmed"]: "CONFIRMED",
        settled["rejected"]: "REJECTED",
        settled["cancelled"]: "CANCELLED",
    }
    assert result.stock == {settled["cup"]: 8, settled["mug"]: 2}
    assert (result.counts["OrdersView rows"], result.counts["CartsView rows"]) == (3, 3)
    assert result.only({settled["cup"]}).orders == {}
    assert result.only({settled["cup"]}).stock == {settled["cup"]: 8}


def test_a_row_that_differs_from_the_replay_is_named_by_attribute(
    stack: Any, settled: dict[str, str]
) -> None:
    order = settled["confirmed"]
    set_attribute(stack, "OrdersView", {"orderId": order}, "status", {"S": "PENDING"})
    assert report(stack).findings == (
        Finding("view", order, f"OrdersView {order}", "status: view 'PENDING', replay 'CONFIRMED'"),
    )


def test_a_missing_and_an_orphan_row(stack: Any, settled: dict[str, str]) -> None:
    orphan = str(uuid.uuid4())
    stack.clients.dynamodb.put_item(
        TableName=stack.physical["CartsView"], Item={"cartId": {"S": orphan}, "version": {"N": "1"}}
    )
    cart = next(
        c["cartId"]["S"]
        for c in stack.clients.dynamodb.scan(TableName=stack.physical["CartsView"])["Items"]
        if c["cartId"]["S"] != orphan
    )
    stack.clients.dynamodb.delete_item(TableName=stack.physical["CartsView"], Key={"cartId": {"S": cart}})
    assert set(report(stack).findings) == {
        Finding("view", orphan, f"CartsView {orphan}", "row has no events in the store"),
        Finding("view", cart, f"CartsView {cart}", "row missing; the replay gives one"),
    }


def test_available_drifted_from_the_store(stack: Any, settled: dict[str, str]) -> None:
    cup = settled["cup"]
    set_attribute(stack, "ProductsView", {"productId": cup}, "available", {"N": "14"})
    assert set(report(stack).findings) == {
        Finding("view", cup, f"ProductsView {cup}", "available: view 14, replay 8"),
        Finding(
            "stock",
            cup,
            f"ProductsView {cup}",
            "ProductsView.available 14, the store gives 8 (received 10 - reserved 5 + released 3)",
        ),
    }


def test_an_order_confirmed_although_its_reservation_was_rejected_by_a_phantom_cause(
    stack: Any, settled: dict[str, str]
) -> None:
    """The issue's first symptom: CONFIRMED, the reservation stream holds only a rejection, and
    the OrderConfirmed names an event that exists nowhere (a rolled-back one)."""
    rejected, phantom = settled["rejected"], str(uuid.uuid4())
    stream = f"order-{rejected}"
    [placed_item] = stream_items(stack, "OrderEventStore", stream)[:1]
    correlation = placed_item["correlationId"]["S"]
    stack.clients.dynamodb.delete_item(
        TableName=stack.physical["OrderEventStore"], Key={"streamId": {"S": stream}, "version": {"N": "2"}}
    )
    confirmed = NewEvent("OrderConfirmed", {"orderId": rejected})
    append(stack, "OrderEventStore", stream, 2, confirmed, EventMetadata(correlation, phantom, "someone"))
    found = report(stack)
    assert set(found.findings) == {
        Finding("order-status", rejected, stream, f"order CONFIRMED but reservation-{rejected} REJECTED"),
        Finding(
            "causation",
            rejected,
            stream,
            f"OrderConfirmed v2 names causation id {phantom}, which is no event in any store",
        ),
        Finding(
            "view",
            rejected,
            f"OrdersView {rejected}",
            "reason: view 'Not enough stock for: Mug (requested 5, available 2)', replay None",
        ),
        Finding("view", rejected, f"OrdersView {rejected}", "status: view 'REJECTED', replay 'CONFIRMED'"),
    }
    assert found.orders[rejected] == "CONFIRMED"


def test_a_pending_order_whose_reservation_is_confirmed(stack: Any, settled: dict[str, str]) -> None:
    """The issue's second symptom: PENDING for good although the store holds the confirmation."""
    order = settled["confirmed"]
    stack.clients.dynamodb.delete_item(
        TableName=stack.physical["OrderEventStore"],
        Key={"streamId": {"S": f"order-{order}"}, "version": {"N": "2"}},
    )
    set_attribute(stack, "OrdersView", {"orderId": order}, "status", {"S": "PENDING"})
    set_attribute(stack, "OrdersView", {"orderId": order}, "version", {"N": "1"})
    assert set(report(stack).findings) == {
        Finding("pending", order, f"order-{order}", "still PENDING; reservation CONFIRMED"),
        Finding("order-status", order, f"order-{order}", f"order PENDING but reservation-{order} CONFIRMED"),
    }


def test_stock_reserved_for_an_order_whose_reservation_was_rejected(
    stack: Any, settled: dict[str, str]
) -> None:
    rejected, cup = settled["rejected"], settled["cup"]
    [placed_item] = stream_items(stack, "OrderEventStore", f"order-{rejected}")[:1]
    [placed] = json.loads(placed_item["events"]["S"])
    meta = EventMetadata(placed_item["correlationId"]["S"], placed["id"], placed_item["actor"]["S"])
    version = last_version(stack, "CatalogEventStore", f"stock-{cup}") + 1
    reserved = NewEvent("StockReserved", {"productId": cup, "quantity": 1, "orderId": rejected})
    append(stack, "CatalogEventStore", f"stock-{cup}", version, reserved, meta)
    stack.pump()
    assert report(stack).findings == (
        Finding(
            "stock",
            rejected,
            f"reservation-{rejected}",
            f"StockReserved on stock streams {{'{cup}': 1}}, reservation REJECTED implies {{}}",
        ),
    )


def test_a_policy_event_caused_by_the_wrong_event(stack: Any, settled: dict[str, str]) -> None:
    confirmed, cancelled = settled["confirmed"], settled["cancelled"]
    [cancel_item] = stream_items(stack, "OrderEventStore", f"order-{cancelled}")[-1:]
    [cancel] = json.loads(cancel_item["events"]["S"])
    stream = f"reservation-{confirmed}"
    version = last_version(stack, "CatalogEventStore", stream) + 1
    meta = EventMetadata(cancel_item["correlationId"]["S"], cancel["id"], cancel_item["actor"]["S"])
    append(
        stack,
        "CatalogEventStore",
        stream,
        version,
        NewEvent("StockReservationVoided", {"orderId": confirmed}),
        meta,
    )
    details = {f.detail for f in report(stack).only({confirmed}).findings if f.check == "causation"}
    assert details == {
        f"StockReservationVoided v{version} is caused by the OrderCancelled of order {cancelled}"
    }


def test_a_policy_event_that_changes_the_actor(stack: Any, settled: dict[str, str]) -> None:
    """A policy acts for whoever caused its triggering event; another actor is a finding."""
    cancelled = settled["cancelled"]
    [cancel_item] = stream_items(stack, "OrderEventStore", f"order-{cancelled}")[-1:]
    [cancel] = json.loads(cancel_item["events"]["S"])
    stream = f"reservation-{cancelled}"
    version = last_version(stack, "CatalogEventStore", stream) + 1
    meta = EventMetadata(cancel_item["correlationId"]["S"], cancel["id"], "someone-else")
    append(
        stack,
        "CatalogEventStore",
        stream,
        version,
        NewEvent("StockReservationVoided", {"orderId": cancelled}),
        meta,
    )
    details = {f.detail for f in report(stack).only({cancelled}).findings if f.check == "causation"}
    actor = cancel_item["actor"]["S"]
    assert details == {
        f"StockReservationVoided v{version} actor someone-else differs from its cause's {actor}"
    }


def test_gaps_and_undecodable_commits_are_store_findings(stack: Any, settled: dict[str, str]) -> None:
    mug = settled["mug"]
    received = NewEvent("StockReceived", {"productId": mug, "quantity": 1})
    append(stack, "CatalogEventStore", f"stock-{mug}", 9, received, EventMetadata("c", "request", "someone"))
    poison = f"product-{uuid.uuid4()}"
    item = encode_commit(
        poison, 0, [NewEvent("ProductCreated", {})], EventMetadata("c", "request", "someone")
    )
    item["events"] = {"S": "not JSON"}
    stack.clients.dynamodb.put_item(TableName=stack.physical["CatalogEventStore"], Item=item)
    store = sorted(str(f) for f in report(stack).findings if f.check == "store")
    assert len(store) == 2, store
    assert store[0].startswith(f"[store] {poison}: commit at version 1 does not decode: JSONDecodeError")
    assert store[1] == f"[store] stock-{mug}: gap: versions 3..8 missing"


def test_the_command_line_reads_a_running_endpoint(
    server_stack: Any, moto_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = journeys(server_stack)
    arguments = ["--endpoint-url", moto_endpoint, "--prefix", server_stack.prefix]
    assert main(arguments) == 0, capsys.readouterr().out
    assert "findings: 0" in capsys.readouterr().out

    set_attribute(server_stack, "OrdersView", {"orderId": ids["confirmed"]}, "status", {"S": "REJECTED"})
    assert main([*arguments, "--json"]) == 1
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line) == {
        "check": "view",
        "entity": ids["confirmed"],
        "subject": f"OrdersView {ids['confirmed']}",
        "detail": "status: view 'REJECTED', replay 'CONFIRMED'",
    }


def test_an_event_whose_data_does_not_decode_is_named_not_fatal(stack: Any, settled: dict[str, str]) -> None:
    mug = settled["mug"]
    version = last_version(stack, "CatalogEventStore", f"stock-{mug}") + 1
    broken = NewEvent("StockReceived", {"productId": mug, "quantity": "many"})
    append(
        stack, "CatalogEventStore", f"stock-{mug}", version, broken, EventMetadata("c", "request", "someone")
    )
    result = report(stack)
    assert {(f.check, f.subject, f.detail.split(":")[0]) for f in result.findings} == {
        ("store", f"stock-{mug}", f"StockReceived v{version} does not decode"),
        ("view", f"stock-{mug}", "replay failed"),
        ("view", f"ProductsView {mug}", "stockVersion"),
        ("view", f"ProductsView {mug}", "available"),
    }
    assert result.stock[mug] == 2
