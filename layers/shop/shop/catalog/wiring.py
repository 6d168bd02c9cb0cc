"""Builds the Catalog's application services from settings, once per execution environment.

Each factory imports what it builds: a function imports this module whole but calls one or two of
its factories, and its cold start should not pay for the others' modules (the HTTP edge's codecs in
a projector, the parking lot and projection in an HTTP function; docs/performance.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from shop.application import Repository, Snapshotting
from shop.application.repository import DEFAULT_SNAPSHOT_EVERY
from shop.catalog.events import catalog_events
from shop.runtime import Settings, cached

if TYPE_CHECKING:
    from shop.catalog.commands import CatalogCommands
    from shop.catalog.policies import StockReservationPolicy
    from shop.catalog.queries import ProductQueries
    from shop.http.consistency import TokenCodec
    from shop.http.cursor import CursorCodec
    from shop.operations.parking_dynamodb import DynamoDBParkingLot
    from shop.projection.engine import ProjectionEngine


class CatalogCommandSettings(Settings):
    events_table: str = Field(alias="CATALOG_EVENTS_TABLE", min_length=3)
    snapshots_table: str = Field(alias="CATALOG_SNAPSHOTS_TABLE", min_length=3)
    #: Events between two snapshots of a product; 0: no snapshots (none read, none written).
    snapshot_every: int = Field(alias="SNAPSHOT_EVERY", default=DEFAULT_SNAPSHOT_EVERY, ge=0)
    currency: str = Field(alias="CURRENCY", pattern=r"^[A-Z]{3}$")


class CatalogStoreSettings(Settings):
    events_table: str = Field(alias="CATALOG_EVENTS_TABLE", min_length=3)


class CatalogQuerySettings(Settings):
    products_view_table: str = Field(alias="PRODUCTS_VIEW_TABLE", min_length=3)


class CatalogProjectorSettings(Settings):
    events_table: str = Field(alias="CATALOG_EVENTS_TABLE", min_length=3)
    products_view_table: str = Field(alias="PRODUCTS_VIEW_TABLE", min_length=3)


class CatalogProjectorParkingSettings(Settings):
    parked_table: str = Field(alias="CATALOG_PROJECTOR_PARKED_TABLE", min_length=3)


class StockReservationParkingSettings(Settings):
    parked_table: str = Field(alias="STOCK_RESERVATION_POLICY_PARKED_TABLE", min_length=3)


@cached
def catalog_commands() -> CatalogCommands:
    from shop.catalog.commands import CatalogCommands
    from shop.eventstore.dynamodb import DynamoDBEventStore
    from shop.eventstore.dynamodb_snapshots import DynamoDBSnapshotStore

    settings = CatalogCommandSettings.from_env()
    store = DynamoDBEventStore.for_table(settings.events_table, catalog_events)
    snapshots = (
        Snapshotting(DynamoDBSnapshotStore.for_table(settings.snapshots_table), settings.snapshot_every)
        if settings.snapshot_every
        else None
    )
    return CatalogCommands(Repository(store, catalog_events, snapshots=snapshots), settings.currency)


@cached
def product_queries() -> ProductQueries:
    from shop.catalog.queries import ProductQueries
    from shop.views.dynamodb import DynamoDBView

    settings = CatalogQuerySettings.from_env()
    return ProductQueries(DynamoDBView.for_table(settings.products_view_table))


@cached
def fresh_product_queries() -> ProductQueries:
    """Strongly consistent reads, for a request that waits for its own write (consistency token)."""
    from shop.catalog.queries import ProductQueries
    from shop.views.dynamodb import DynamoDBView

    settings = CatalogQuerySettings.from_env()
    return ProductQueries(DynamoDBView.for_table(settings.products_view_table, consistent=True))


@cached
def consistency_tokens() -> TokenCodec:
    """Signs the ``X-Consistency-Token`` of command answers and checks it on GETs."""
    from shop.http.consistency import TokenCodec
    from shop.secrets import signing_secret

    return TokenCodec(signing_secret())


@cached
def query_cursors() -> CursorCodec:
    from shop.http.cursor import CursorCodec
    from shop.secrets import signing_secret

    return CursorCodec(signing_secret())


@cached
def products_projector() -> ProjectionEngine:
    from shop.catalog.projection import ProductsProjection
    from shop.projection.dynamodb import dynamodb_projection_engine

    settings = CatalogProjectorSettings.from_env()
    return dynamodb_projection_engine(
        ProductsProjection(),
        events_table=settings.events_table,
        view_table=settings.products_view_table,
        upcaster=catalog_events,
    )


@cached
def products_projector_parking() -> DynamoDBParkingLot:
    """What CatalogProjector parks (docs/parking.md)."""
    from shop.operations.parking_dynamodb import DynamoDBParkingLot

    settings = CatalogProjectorParkingSettings.from_env()
    return DynamoDBParkingLot.for_table(settings.parked_table, "CatalogProjector")


@cached
def stock_reservations() -> StockReservationPolicy:
    from shop.catalog.policies import StockReservationPolicy
    from shop.eventstore.dynamodb import DynamoDBEventStore

    settings = CatalogStoreSettings.from_env()
    return StockReservationPolicy(
        Repository(DynamoDBEventStore.for_table(settings.events_table, catalog_events), catalog_events)
    )


@cached
def stock_reservations_parking() -> DynamoDBParkingLot:
    """What StockReservationPolicy parks (docs/parking.md)."""
    from shop.operations.parking_dynamodb import DynamoDBParkingLot

    settings = StockReservationParkingSettings.from_env()
    return DynamoDBParkingLot.for_table(settings.parked_table, "StockReservationPolicy")
