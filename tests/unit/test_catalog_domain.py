"""Catalog rules, through the application service over the in-memory event store."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shop.application import Caller, CommandContext, Repository
from shop.catalog.commands import CatalogCommands, ChangeProductDetails, CreateProduct, ReceiveStock
from shop.catalog.domain import DuplicateSku, InsufficientStock, Product, ProductDiscontinuedError, Stock
from shop.catalog.events import catalog_events
from shop.domain.money import Money, Price
from shop.errors import InvalidInput, NotFound, VersionMismatch
from shop.eventstore.memory import InMemoryEventStore

ADMIN = Caller("staff-1", frozenset({"admin"}))
CTX = CommandContext(correlation_id="corr", causation_id="req", caller=ADMIN)


def price(amount: int) -> Price:
    return Price(amount=amount, currency="EUR")


def eur(amount: int) -> Money:
    return Money(amount=amount, currency="EUR")


@pytest.fixture
def store() -> InMemoryEventStore:
    return InMemoryEventStore()


@pytest.fixture
def catalog(store: InMemoryEventStore) -> CatalogCommands:
    return CatalogCommands(Repository(store, catalog_events), "EUR")


def create(catalog: CatalogCommands, sku: str = "MUG-1", **changes: object) -> str:
    fields = {"sku": sku, "name": "Mug", "category": "kitchen", "price": price(1299)} | changes
    return catalog.create_product(CreateProduct.model_validate(fields), CTX).aggregate_id


def types(store: InMemoryEventStore, stream_id: str) -> list[str]:
    return [e.type for e in store.load(stream_id)]


def test_create_product_records_the_product_under_an_id_derived_from_its_sku(catalog, store) -> None:
    product_id = create(catalog)

    assert product_id == Product.id_for_sku("MUG-1") == Product.id_for_sku("mug-1")
    assert product_id != Product.id_for_sku("MUG-2")

    [created] = store.load(f"product-{product_id}")
    assert created.type == "ProductCreated"
    assert created.data == {
        "productId": product_id,
        "sku": "MUG-1",
        "name": "Mug",
        "description": "",
        "category": "kitchen",
        "price": {"amount": 1299, "currency": "EUR"},
    }
    assert created.metadata.correlation_id == "corr"
    assert len(store.commits) == 1


def test_sku_is_unique_regardless_of_case(catalog, store) -> None:
    create(catalog, "MUG-1")

    with pytest.raises(DuplicateSku):
        create(catalog, "mug-1")
    assert len(store.commits) == 1  # nothing of the second


def test_another_currency_is_refused(catalog) -> None:
    with pytest.raises(InvalidInput) as raised:
        create(catalog, price=Price(amount=100, currency="USD"))
    assert raised.value.errors[0].field == "price.currency"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sku", "has space"),
        ("sku", "x" * 65),
        ("sku", ""),
        ("name", ""),
        ("name", "   "),
        ("name", "n" * 201),
        ("description", "d" * 2001),
        ("category", "Kitchen"),
        ("category", "-kitchen"),
        ("category", "c" * 65),
        ("price", {"amount": -1, "currency": "EUR"}),
        ("price", {"amount": 1_000_000_001, "currency": "EUR"}),
        ("price", {"amount": 10.5, "currency": "EUR"}),
        ("price", {"amount": "10", "currency": "EUR"}),
        ("price", {"amount": 10, "currency": "eur"}),
        ("sku", 123),
    ],
)
def test_create_product_validates_each_field(field: str, value: object) -> None:
    fields = {"sku": "A", "name": "N", "category": "c", "price": {"amount": 1, "currency": "EUR"}}
    with pytest.raises(ValidationError):
        CreateProduct.model_validate(fields | {field: value})


def test_whole_numbers_written_with_a_zero_fraction_are_integers() -> None:
    """JSON has one number type, and JSON Schema (which the OpenAPI documents use) counts 10.0 as
    an integer: the fuzzer's schema-valid ``"amount": 10.0`` was refused with a 422."""
    fields = {"sku": "A", "name": "N", "category": "c", "price": {"amount": 10.0, "currency": "EUR"}}
    price = CreateProduct.model_validate(fields).price
    assert (price.amount, type(price.amount)) == (10, int)
    assert ReceiveStock.model_validate({"quantity": 3.0}).quantity == 3
    assert Money.model_validate({"amount": 2.0, "currency": "EUR"}) == Money(amount=2, currency="EUR")
    for refused in (10.5, float("inf"), float("nan"), True, "10"):
        with pytest.raises(ValidationError):
            Price.model_validate({"amount": refused, "currency": "EUR"})


def test_boundary_values_are_accepted() -> None:
    CreateProduct.model_validate(
        {
            "sku": "A" * 64,
            "name": "N" * 200,
            "description": "D" * 2000,
            "category": "c" * 64,
            "price": {"amount": 1_000_000_000, "currency": "EUR"},
        }
    )
    CreateProduct.model_validate(
        {"sku": "a.b_c-1", "name": "N", "category": "0", "price": {"amount": 0, "currency": "EUR"}}
    )


def test_change_details_records_only_what_changed(catalog, store) -> None:
    product_id = create(catalog, description="old")
    result = catalog.change_details(product_id, ChangeProductDetails(name="Big mug", description="old"), CTX)

    assert result.version == 2
    assert store.load(f"product-{product_id}")[-1].data == {"name": "Big mug"}


def test_a_change_that_changes_nothing_appends_nothing(catalog, store) -> None:
    product_id = create(catalog)

    details = catalog.change_details(product_id, ChangeProductDetails(name="Mug"), CTX)
    repriced = catalog.change_price(product_id, price(1299), CTX)

    assert (details.version, details.changed, repriced.version, repriced.changed) == (1, False, 1, False)
    assert types(store, f"product-{product_id}") == ["ProductCreated"]


def test_patch_needs_at_least_one_field_and_no_nulls() -> None:
    with pytest.raises(ValidationError, match="at least one"):
        ChangeProductDetails.model_validate({})
    with pytest.raises(ValidationError, match="must not be null"):
        ChangeProductDetails.model_validate({"name": None})
    assert ChangeProductDetails.model_validate({"description": None}).description == ""


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x" * 201}, "name"),
        ({"name": "a\u202eb"}, "name"),
        ({"name": None}, "name"),
        ({"category": "Not A Category"}, "category"),
        ({"category": None}, "category"),
    ],
)
def test_a_refused_field_of_a_patch_is_reported_on_the_field(body: dict[str, object], field: str) -> None:
    """Fields that may be left out but not be null were ``X | SkipJsonSchema[None]``: pydantic
    validated them as a union and reported each refusal on its branches (``name.constrained-str``
    and ``name.none``), so the 422's ``errors`` named no field the client sent."""
    with pytest.raises(ValidationError) as refused:
        ChangeProductDetails.model_validate(body)
    assert [error["loc"] for error in refused.value.errors()] == [(field,)]


def test_change_price_records_the_previous_price(catalog, store) -> None:
    product_id = create(catalog)
    catalog.change_price(product_id, price(999), CTX)

    assert store.load(f"product-{product_id}")[-1].data == {
        "price": {"amount": 999, "currency": "EUR"},
        "previousPrice": {"amount": 1299, "currency": "EUR"},
    }


def test_a_discontinued_product_cannot_be_changed(catalog) -> None:
    product_id = create(catalog)
    catalog.discontinue(product_id, CTX)

    with pytest.raises(ProductDiscontinuedError):
        catalog.change_details(product_id, ChangeProductDetails(name="X"), CTX)
    with pytest.raises(ProductDiscontinuedError):
        catalog.change_price(product_id, price(1), CTX)
    with pytest.raises(ProductDiscontinuedError):
        catalog.discontinue(product_id, CTX)
    with pytest.raises(ProductDiscontinuedError):
        catalog.receive_stock(product_id, ReceiveStock(quantity=1), CTX)


def test_commands_on_unknown_products_are_not_found(catalog) -> None:
    unknown = "00000000-0000-4000-8000-999999999999"
    with pytest.raises(NotFound):
        catalog.change_price(unknown, price(1), CTX)
    with pytest.raises(NotFound):
        catalog.receive_stock(unknown, ReceiveStock(quantity=1), CTX)


def test_receive_stock_appends_to_the_stock_stream(catalog, store) -> None:
    product_id = create(catalog)

    first = catalog.receive_stock(product_id, ReceiveStock(quantity=5), CTX)
    second = catalog.receive_stock(product_id, ReceiveStock(quantity=7), CTX)

    assert (first.version, second.version) == (1, 2)
    assert types(store, f"stock-{product_id}") == ["StockReceived", "StockReceived"]
    assert types(store, f"product-{product_id}") == ["ProductCreated"]


@pytest.mark.parametrize("quantity", [0, -1, 1_000_001, 2.5, "3", True])
def test_receive_quantity_is_1_to_a_million(quantity: object) -> None:
    with pytest.raises(ValidationError):
        ReceiveStock.model_validate({"quantity": quantity})


def test_if_match_is_checked_against_the_aggregate_version(catalog) -> None:
    product_id = create(catalog)

    with pytest.raises(VersionMismatch):
        catalog.change_price(product_id, price(1), CommandContext("c", "r", expected_version=2, caller=ADMIN))
    assert (
        catalog.change_price(
            product_id, price(1), CommandContext("c", "r", expected_version=1, caller=ADMIN)
        ).version
        == 2
    )


def test_stock_availability_is_never_negative() -> None:
    stock = Stock("p")
    stock.receive(3)
    stock.reserve(2, "order-1")
    assert stock.available == 1
    assert not stock.can_reserve(2)
    with pytest.raises(InsufficientStock):
        stock.reserve(2, "order-2")
    stock.release(2, "order-1")
    assert stock.available == 3


def test_aggregate_rehydrates_from_its_history() -> None:
    product = Product.create("p", sku="S", name="N", description="", category="c", price=eur(5))
    history = product.pending_events
    again = Product.rehydrate("p", [*history], version=1)
    assert (again.name, again.price, again.version, again.pending_events) == ("N", eur(5), 1, ())


def test_prices_are_capped_but_money_in_general_is_not() -> None:
    with pytest.raises(ValidationError):
        CreateProduct.model_validate(
            {"sku": "A", "name": "N", "category": "c", "price": {"amount": 1_000_000_001, "currency": "EUR"}}
        )
    assert Money(amount=5_000_000_000, currency="EUR").amount == 5_000_000_000


def test_a_discontinue_that_slips_in_before_a_stock_receipt_wins(catalog, store) -> None:
    """The product is read active, then discontinued before the stock is appended: no stock."""
    product_id = create(catalog)
    real_append_all = store.append_all
    raced = []

    def discontinue_first(writes, metadata, *, unchanged=()):  # type: ignore[no-untyped-def]
        if not raced:
            raced.append(True)
            catalog.discontinue(product_id, CTX)
        real_append_all(writes, metadata, unchanged=unchanged)

    store.append_all = discontinue_first  # type: ignore[method-assign]
    with pytest.raises(ProductDiscontinuedError):
        catalog.receive_stock(product_id, ReceiveStock(quantity=5), CTX)
    assert types(store, f"stock-{product_id}") == []


def test_listing_sort_keys_stay_within_the_index_key_limit() -> None:
    from shop.catalog.projection import name_key  # noqa: PLC0415

    key = name_key("ΐ" * 200, "00000000-0000-4000-8000-000000000001")  # casefolds to 3 code points each
    assert len(key.encode()) <= 1024
    assert key.endswith("#00000000-0000-4000-8000-000000000001")
    assert name_key("Mug", "p") == "mug#p"
