"""Builds the Cart service's application services from settings, once per execution environment.

Each factory imports what it builds: a function imports this module whole but calls one or two of
its factories, and its cold start should not pay for the others' modules (the HTTP edge's codecs in
a projector, the parking lot and projection in an HTTP function; docs/performance.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from shop.application import Repository, Snapshotting
from shop.application.repository import DEFAULT_SNAPSHOT_EVERY
from shop.cart.events import cart_events
from shop.runtime import Settings, cached

if TYPE_CHECKING:
    from shop.cart.commands import CartCommands
    from shop.cart.queries import CartQueries
    from shop.http.consistency import TokenCodec
    from shop.operations.parking_dynamodb import DynamoDBParkingLot
    from shop.projection.engine import ProjectionEngine


class CartCommandSettings(Settings):
    events_table: str = Field(alias="CART_EVENTS_TABLE", min_length=3)
    snapshots_table: str = Field(alias="CART_SNAPSHOTS_TABLE", min_length=3)
    #: Events between two snapshots of a cart; 0: no snapshots (none read, none written).
    snapshot_every: int = Field(alias="SNAPSHOT_EVERY", default=DEFAULT_SNAPSHOT_EVERY, ge=0)
    products_view_table: str = Field(alias="PRODUCTS_VIEW_TABLE", min_length=3)
    currency: str = Field(alias="CURRENCY", pattern=r"^[A-Z]{3}$")


class CartQuerySettings(Settings):
    carts_view_table: str = Field(alias="CARTS_VIEW_TABLE", min_length=3)


class CartProjectorSettings(Settings):
    events_table: str = Field(alias="CART_EVENTS_TABLE", min_length=3)
    carts_view_table: str = Field(alias="CARTS_VIEW_TABLE", min_length=3)


class CartProjectorParkingSettings(Settings):
    parked_table: str = Field(alias="CART_PROJECTOR_PARKED_TABLE", min_length=3)


@cached
def cart_commands() -> CartCommands:
    from shop.cart.catalog_view import ProductsViewCatalog
    from shop.cart.commands import CartCommands
    from shop.eventstore.dynamodb import DynamoDBEventStore
    from shop.eventstore.dynamodb_snapshots import DynamoDBSnapshotStore
    from shop.views.dynamodb import DynamoDBView

    settings = CartCommandSettings.from_env()
    store = DynamoDBEventStore.for_table(settings.events_table, cart_events)
    catalog = ProductsViewCatalog(DynamoDBView.for_table(settings.products_view_table))
    snapshots = (
        Snapshotting(DynamoDBSnapshotStore.for_table(settings.snapshots_table), settings.snapshot_every)
        if settings.snapshot_every
        else None
    )
    return CartCommands(Repository(store, cart_events, snapshots=snapshots), catalog, settings.currency)


@cached
def cart_queries() -> CartQueries:
    from shop.cart.queries import CartQueries
    from shop.views.dynamodb import DynamoDBView

    return CartQueries(DynamoDBView.for_table(CartQuerySettings.from_env().carts_view_table))


@cached
def fresh_cart_queries() -> CartQueries:
    """Strongly consistent reads, for a request that waits for its own write (consistency token)."""
    from shop.cart.queries import CartQueries
    from shop.views.dynamodb import DynamoDBView

    return CartQueries(DynamoDBView.for_table(CartQuerySettings.from_env().carts_view_table, consistent=True))


@cached
def consistency_tokens() -> TokenCodec:
    """Signs the ``X-Consistency-Token`` of command answers and checks it on GETs."""
    from shop.http.consistency import TokenCodec
    from shop.secrets import signing_secret

    return TokenCodec(signing_secret())


@cached
def carts_projector() -> ProjectionEngine:
    from shop.cart.projection import CartsProjection
    from shop.projection.dynamodb import dynamodb_projection_engine

    settings = CartProjectorSettings.from_env()
    return dynamodb_projection_engine(
        CartsProjection(),
        events_table=settings.events_table,
        view_table=settings.carts_view_table,
        upcaster=cart_events,
    )


@cached
def carts_projector_parking() -> DynamoDBParkingLot:
    """What CartProjector parks (docs/parking.md)."""
    from shop.operations.parking_dynamodb import DynamoDBParkingLot

    settings = CartProjectorParkingSettings.from_env()
    return DynamoDBParkingLot.for_table(settings.parked_table, "CartProjector")
