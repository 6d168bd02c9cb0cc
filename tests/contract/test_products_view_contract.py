"""The Cart's view of a product is what the Catalog's projector wrote and the Query API shows.

The Cart prices lines from the Catalog's ``ProductsView`` through ``shop.catalog.listing``; this
holds that reading to the rows ``ProductsProjection`` writes, for any valid Catalog history, and to
the Catalog's own aggregates (the source of truth).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from shop.application import Repository
from shop.cart.catalog_view import ProductsViewCatalog
from shop.cart.domain import ListedProduct
from shop.catalog.domain import Product, Stock
from shop.catalog.events import catalog_events
from shop.catalog.projection import ProductsProjection
from shop.catalog.queries import ProductQueries
from shop.errors import NotFound
from shop.eventstore.memory import InMemoryEventStore
from shop.eventstore.model import EventMetadata
from shop.projection import ProjectionEngine
from shop.views.memory import InMemoryView
from tests.support.histories import build_history, operations

PRODUCT_IDS = [f"00000000-0000-4000-8000-00000000000{index}" for index in range(3)]


def projected(store: InMemoryEventStore) -> InMemoryView:
    view = InMemoryView()
    engine = ProjectionEngine(ProductsProjection(), view, store)
    for stream_id, events in store.commits:
        engine.project(stream_id, events)
    return view


@settings(max_examples=60, deadline=None)
@given(operations)
def test_the_cart_sees_each_product_as_the_catalog_decided_it(ops: list[tuple[str, int, int]]) -> None:
    store = build_history(ops)
    view = projected(store)
    repository = Repository(store, catalog_events)
    cart_view, queries = ProductsViewCatalog(view), ProductQueries(view)
    for product_id in PRODUCT_IDS:
        product = repository.load(Product, product_id)
        if not product.exists:
            assert cart_view.find(product_id) is None
            continue
        assert product.price is not None
        assert cart_view.find(product_id) == ListedProduct(
            product_id=product_id, name=product.name, price=product.price, active=not product.discontinued
        )
        shown = queries.get(product_id)
        assert (shown["name"], shown["price"], shown["status"]) == (
            product.name,
            product.price.model_dump(),
            "DISCONTINUED" if product.discontinued else "ACTIVE",
        )
        assert shown["available"] == repository.load(Stock, product_id).available
        assert shown["version"] == product.version


def test_stock_without_its_product_is_no_product_for_the_cart_or_the_query_api() -> None:
    store = InMemoryEventStore()
    repository = Repository(store, catalog_events)
    stock = Stock(PRODUCT_IDS[0])
    stock.receive(5)
    repository.save(stock, metadata=EventMetadata("c", "c", "someone"))
    view = projected(store)
    assert ProductsViewCatalog(view).find(PRODUCT_IDS[0]) is None
    with pytest.raises(NotFound):
        ProductQueries(view).get(PRODUCT_IDS[0])
