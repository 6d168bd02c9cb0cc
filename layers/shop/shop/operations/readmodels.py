"""Every read table, the event store that feeds it, and the projection its projector runs.

Names are the logical ids of ``template.yaml`` (a test holds this table to the template: each read
table's projector subscribes to exactly this store's stream).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from shop.cart.events import cart_events
from shop.cart.projection import CartsProjection
from shop.catalog.events import catalog_events
from shop.catalog.projection import ProductsProjection
from shop.eventstore.upcasting import Upcaster
from shop.orders.events import order_events
from shop.orders.projection import OrdersProjection
from shop.projection.engine import Projection


@dataclass(frozen=True, slots=True)
class ReadModel:
    #: Logical id of the read table.
    table: str
    #: Logical id of the event store its projector reads.
    store: str
    #: The projector's projection (a fresh one per call; projections hold no state).
    projection: Callable[[], Projection]
    #: The event registry of the service owning ``store``: what it loads is upcast through it, as
    #: the live projector's records are (``source=`` of its handler).
    events: Upcaster


READ_MODELS: Mapping[str, ReadModel] = {
    model.table: model
    for model in (
        ReadModel("ProductsView", "CatalogEventStore", ProductsProjection, catalog_events),
        ReadModel("CartsView", "CartEventStore", CartsProjection, cart_events),
        ReadModel("OrdersView", "OrderEventStore", OrdersProjection, order_events),
    )
}

#: Logical ids of the event stores, each once.
EVENT_STORES: tuple[str, ...] = tuple(dict.fromkeys(model.store for model in READ_MODELS.values()))
