"""Builds the Catalog's application services from settings, once per execution environment."""

from __future__ import annotations

from pydantic import Field

from shop.application import Repository, Snapshotting
from shop.application.repository import DEFAULT_SNAPSHOT_EVERY
from shop.catalog.commands import CatalogCommands
from shop.catalog.events import catalog_events
from shop.catalog.policies import StockReservationPolicy
from shop.catalog.projection import ProductsProjection
from shop.catalog.queries import ProductQueries
from shop.eventstore.dynamodb import DynamoDBEventStore
from shop.eventstore.dynamodb_snapshots import DynamoDBSnapshotStore
from shop.http.consistency import TokenCodec
from shop.http.cursor import CursorCodec
from shop.operations.parking_dynamodb import DynamoDBParkingLot
from shop.projection.dynamodb import dynamodb_projection_engine
from shop.projection.engine import ProjectionEngine
from shop.runtime import Settings, cached
from shop.secrets import signing_secret
from shop.views.dynamodb import DynamoDBView


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
    settings = CatalogQuerySettings.from_env()
    return ProductQueries(DynamoDBView.for_table(settings.products_view_table))


@cached
def fresh_product_queries() -> ProductQueries:
    """Strongly consistent reads, for a request that waits for its own write (consistency token)."""
    settings = CatalogQuerySettings.from_env()
    return ProductQueries(DynamoDBView.for_table(settings.products_view_table, consistent=True))


@cached
def consistency_tokens() -> TokenCodec:
    """Signs the ``X-Consistency-Token`` of command answers and checks it on GETs."""
    return TokenCodec(signing_secret())


@cached
def query_cursors() -> CursorCodec:
    return CursorCodec(signing_secret())


@cached
def products_projector() -> ProjectionEngine:
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
    settings = CatalogProjectorParkingSettings.from_env()
    return DynamoDBParkingLot.for_table(settings.parked_table, "CatalogProjector")


@cached
def stock_reservations() -> StockReservationPolicy:
    settings = CatalogStoreSettings.from_env()
    return StockReservationPolicy(
        Repository(DynamoDBEventStore.for_table(settings.events_table, catalog_events), catalog_events)
    )


@cached
def stock_reservations_parking() -> DynamoDBParkingLot:
    """What StockReservationPolicy parks (docs/parking.md)."""
    settings = StockReservationParkingSettings.from_env()
    return DynamoDBParkingLot.for_table(settings.parked_table, "StockReservationPolicy")
