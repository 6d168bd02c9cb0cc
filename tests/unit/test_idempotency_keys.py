"""Idempotency keys without AWS: validation, scope, fingerprint, and answering a second run of a keyed
request from the commit its first run left (over the in-memory event store)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from shop.application import Caller, CommandContext, Repository
from shop.cart.commands import AddCartItem, CartCommands, CreateCart
from shop.cart.domain import CartNotOpen, ListedProduct
from shop.cart.events import cart_events
from shop.catalog.commands import CatalogCommands, CreateProduct, ReceiveStock
from shop.catalog.domain import DuplicateSku, ProductDiscontinuedError
from shop.catalog.events import catalog_events
from shop.domain.money import Money, Price
from shop.errors import VersionMismatch
from shop.eventstore.codec import decode_commit, encode_commit
from shop.eventstore.memory import InMemoryEventStore
from shop.eventstore.model import EventMetadata, NewEvent
from shop.eventstore.upcasting import AS_STORED
from shop.http import idempotency
from shop.http.problems import HttpProblem

ADMIN = Caller("staff-1", frozenset({"admin"}))
ALICE = Caller("alice")
MUG = "00000000-0000-4000-8000-000000000001"


def context(caller: Caller = ADMIN, key: str | None = "k1", expected: int | None = None) -> CommandContext:
    return CommandContext("corr", "req", expected, caller=caller, request_key=key)


# ---------------------------------------------------------------------------- the header
@pytest.mark.parametrize(
    "key", ["a", "Z" * 255, "a b", "!~", '"quoted"', "8e03978e-40d5-43e8-bc93-6894a57f9324"]
)
def test_keys_of_1_to_255_printable_ascii_characters_are_taken_as_sent(key: str) -> None:
    assert idempotency.key_of({"Idempotency-Key": key}) == key
    assert idempotency.key_of({"idempotency-key": key}) == key  # header names in any case


@pytest.mark.parametrize(
    "key", ["", " ", " a", "a ", "a" * 256, "\u00e9", "a\tb", "\x00", "\x1b[0m", "a\x7f"]
)
def test_other_keys_are_a_400_problem(key: str) -> None:
    with pytest.raises(HttpProblem) as refused:
        idempotency.key_of({"Idempotency-Key": key})
    assert (refused.value.status, refused.value.code) == (400, "bad-idempotency-key")


def test_without_the_header_there_is_no_key() -> None:
    assert idempotency.key_of({"if-match": '"1"'}) is None


def test_a_key_is_scoped_to_method_path_and_caller() -> None:
    base = idempotency.scope("POST", "/carts", "alice", "k")
    assert base == idempotency.scope("post", "/carts", "alice", "k")
    others = {
        idempotency.scope("PUT", "/carts", "alice", "k"),
        idempotency.scope("POST", "/carts/x", "alice", "k"),
        idempotency.scope("POST", "/carts", "bob", "k"),
        idempotency.scope("POST", "/carts", "alice", "k2"),
        idempotency.scope("POST", "/carts", "alice,k", ""),  # no ambiguity from joining
    }
    assert base not in others
    assert len(others) == 5
    assert len(base) == 32
    assert int(base, 16) >= 0


def test_the_fingerprint_compares_bodies_as_json() -> None:
    assert idempotency.body_of({"body": '{"a": 1, "b": [2]}'}) == idempotency.body_of(
        {"body": '{"b":[2],"a":1}'}
    )
    assert idempotency.body_of({"body": '{"a": 1}'}) != idempotency.body_of({"body": '{"a": 2}'})
    assert idempotency.body_of({"body": "eyJhIjogMX0=", "isBase64Encoded": True}) == {"a": 1}
    assert idempotency.body_of({"body": "not json"}) == "not json"
    assert idempotency.body_of({}) == idempotency.body_of({"body": None}) == ""


def test_a_replay_is_the_stored_answer_with_every_header_and_the_mark() -> None:
    stored = {
        "statusCode": 201,
        "body": '{"cartId":"c","version":1}',
        "isBase64Encoded": False,
        "headers": {"Content-Type": "application/json", "ETag": '"1"', "X-Anything": "kept"},
        "cookies": [],
    }
    replay = idempotency.replayed(json.loads(json.dumps(stored)), object())  # type: ignore[arg-type]
    assert replay == {**stored, "headers": {**stored["headers"], "Idempotent-Replayed": "true"}}


# ---------------------------------------------------------------------------- commits carry the key
def test_a_commit_carries_the_request_key_only_when_there_is_one() -> None:
    keyed = encode_commit("s", 0, [NewEvent("A", {})], EventMetadata("c", "r", "a", "k1"))
    plain = encode_commit("s", 0, [NewEvent("A", {})], EventMetadata("c", "r", "a"))

    assert keyed["requestKey"] == {"S": "k1"}
    assert "requestKey" not in plain
    assert decode_commit(keyed, upcaster=AS_STORED)[0].metadata.request_key == "k1"
    assert decode_commit(plain, upcaster=AS_STORED)[0].metadata.request_key == ""


def test_a_command_context_carries_the_scoped_key_of_its_request() -> None:
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2  # noqa: PLC0415

    from shop.http.request import command_context  # noqa: PLC0415

    def event(headers: dict[str, str]) -> APIGatewayProxyEventV2:
        claims = {"sub": "sub-1", "token_use": "access"}
        return APIGatewayProxyEventV2(
            {
                "rawPath": "/carts",
                "headers": headers,
                "requestContext": {
                    "requestId": "req-1",
                    "http": {"method": "POST"},
                    "authorizer": {"jwt": {"claims": claims, "scopes": None}},
                },
            }
        )

    keyed = command_context(event({"idempotency-key": "k"}))
    assert keyed.request_key == idempotency.scope("POST", "/carts", "sub-1", "k")
    assert keyed.metadata.request_key == keyed.request_key
    assert command_context(event({})).request_key is None
    with pytest.raises(HttpProblem):
        command_context(event({"idempotency-key": ""}))


def test_the_context_puts_its_key_in_the_metadata() -> None:
    assert context(key="k1").metadata == EventMetadata("corr", "req", "staff-1", "k1")
    assert context(key=None).metadata == EventMetadata("corr", "req", "staff-1", "")


def test_ids_a_keyed_request_creates_are_derived_from_its_key() -> None:
    fresh = lambda: str(uuid.uuid4())  # noqa: E731
    assert context(key="k1").new_id("cart", fresh) == context(key="k1").new_id("cart", fresh)
    assert context(key="k1").new_id("cart", fresh) != context(key="k2").new_id("cart", fresh)
    assert context(key="k1").new_id("cart", fresh) != context(key="k1").new_id("order", fresh)
    assert context(key=None).new_id("cart", fresh) != context(key=None).new_id("cart", fresh)


# ---------------------------------------------------------------------------- a second run of a request
@pytest.fixture
def store() -> InMemoryEventStore:
    return InMemoryEventStore()


@pytest.fixture
def catalog(store: InMemoryEventStore) -> CatalogCommands:
    return CatalogCommands(Repository(store, catalog_events), "EUR")


def new_product(catalog: CatalogCommands, sku: str = "MUG-1", key: str | None = None) -> Any:
    command = CreateProduct(sku=sku, name="Mug", category="kitchen", price=Price(amount=100, currency="EUR"))
    return catalog.create_product(command, context(key=key))


def test_a_second_run_of_a_keyed_command_is_answered_from_its_commit(catalog, store) -> None:
    product = new_product(catalog).aggregate_id
    first = catalog.receive_stock(product, ReceiveStock(quantity=5), context(key="k1"))
    catalog.receive_stock(product, ReceiveStock(quantity=1), context(key=None))  # someone else, later

    again = catalog.receive_stock(product, ReceiveStock(quantity=5), context(key="k1"))

    assert (again.version, again.replayed, first.replayed) == (first.version, True, False)
    assert [e.data["quantity"] for e in store.load(f"stock-{product}")] == [5, 1]


def test_it_is_answered_before_preconditions_and_rules_that_the_first_run_changed(catalog, store) -> None:
    product = new_product(catalog).aggregate_id
    first = catalog.receive_stock(product, ReceiveStock(quantity=5), context(key="k1", expected=0))
    catalog.discontinue(product, context(key=None))

    again = catalog.receive_stock(product, ReceiveStock(quantity=5), context(key="k1", expected=0))

    assert (again.version, again.replayed) == (first.version, True)
    with pytest.raises(ProductDiscontinuedError):  # a new request meets today's rules
        catalog.receive_stock(product, ReceiveStock(quantity=5), context(key="k2"))
    with pytest.raises(VersionMismatch):
        catalog.change_price(product, Price(amount=1, currency="EUR"), context(key="k3", expected=1))


def test_another_key_or_none_runs_the_command_again(catalog, store) -> None:
    product = new_product(catalog).aggregate_id
    catalog.receive_stock(product, ReceiveStock(quantity=5), context(key="k1"))
    assert not catalog.receive_stock(product, ReceiveStock(quantity=5), context(key="k2")).replayed
    assert not catalog.receive_stock(product, ReceiveStock(quantity=5), context(key=None)).replayed
    assert len(store.load(f"stock-{product}")) == 3


def test_a_second_run_of_a_keyed_create_is_answered_from_its_commit_not_as_a_duplicate(catalog) -> None:
    first = new_product(catalog, key="k1")
    again = new_product(catalog, key="k1")
    assert (again.aggregate_id, again.version, again.replayed) == (first.aggregate_id, 1, True)
    with pytest.raises(DuplicateSku):
        new_product(catalog, key="k2")
    with pytest.raises(DuplicateSku):
        new_product(catalog, key=None)


class OneProduct:
    def find(self, product_id: str) -> ListedProduct | None:
        return ListedProduct(MUG, "Mug", Money(amount=1000, currency="EUR"), active=True)


@pytest.fixture
def carts(store: InMemoryEventStore) -> CartCommands:
    return CartCommands(Repository(store, cart_events), OneProduct(), "EUR")


def test_a_keyed_cart_and_order_get_the_same_ids_when_the_request_runs_again(carts, store) -> None:
    cart = carts.create_cart(CreateCart(), context(ALICE, key="c1"))
    again = carts.create_cart(CreateCart(), context(ALICE, key="c1"))
    assert (again.aggregate_id, again.replayed) == (cart.aggregate_id, True)
    assert carts.create_cart(CreateCart(), context(ALICE, key="c2")).aggregate_id != cart.aggregate_id
    carts.add_item(cart.aggregate_id, AddCartItem(product_id=MUG, quantity=1), context(ALICE, key=None))

    checked_out, order = carts.check_out(cart.aggregate_id, context(ALICE, key="o1"))
    retried, same_order = carts.check_out(cart.aggregate_id, context(ALICE, key="o1"))

    assert (retried.version, retried.replayed, same_order) == (checked_out.version, True, order)
    [*_, event] = store.load(f"cart-{cart.aggregate_id}")
    assert (event.type, event.data["orderId"]) == ("CartCheckedOut", order)
    with pytest.raises(CartNotOpen):
        carts.check_out(cart.aggregate_id, context(ALICE, key="o2"))
