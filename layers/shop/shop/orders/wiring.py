"""Builds the Orders service's application services and policies, once per execution environment.

Each factory imports what it builds: a function imports this module whole but calls one or two of
its factories, and its cold start should not pay for the others' modules (the HTTP edge's codecs in
a projector, the parking lot and projection in an HTTP function; docs/performance.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from shop.application import Repository
from shop.orders.events import order_events
from shop.runtime import Settings, cached

if TYPE_CHECKING:
    from shop.http.consistency import TokenCodec
    from shop.http.cursor import CursorCodec
    from shop.operations.parking_dynamodb import DynamoDBParkingLot
    from shop.orders.commands import OrderCommands
    from shop.orders.policies import OrderFulfilmentPolicy, OrderIntakePolicy
    from shop.orders.queries import OrderQueries
    from shop.projection.engine import ProjectionEngine


class OrderStoreSettings(Settings):
    events_table: str = Field(alias="ORDER_EVENTS_TABLE", min_length=3)


class OrderQuerySettings(Settings):
    orders_view_table: str = Field(alias="ORDERS_VIEW_TABLE", min_length=3)


class OrderProjectorSettings(Settings):
    events_table: str = Field(alias="ORDER_EVENTS_TABLE", min_length=3)
    orders_view_table: str = Field(alias="ORDERS_VIEW_TABLE", min_length=3)


class OrderProjectorParkingSettings(Settings):
    parked_table: str = Field(alias="ORDER_PROJECTOR_PARKED_TABLE", min_length=3)


class OrderIntakeParkingSettings(Settings):
    parked_table: str = Field(alias="ORDER_INTAKE_POLICY_PARKED_TABLE", min_length=3)


class OrderFulfilmentParkingSettings(Settings):
    parked_table: str = Field(alias="ORDER_FULFILMENT_POLICY_PARKED_TABLE", min_length=3)


def _repository() -> Repository:
    from shop.eventstore.dynamodb import DynamoDBEventStore

    return Repository(
        DynamoDBEventStore.for_table(OrderStoreSettings.from_env().events_table, order_events), order_events
    )


@cached
def order_commands() -> OrderCommands:
    from shop.orders.commands import OrderCommands

    return OrderCommands(_repository())


@cached
def order_intake() -> OrderIntakePolicy:
    from shop.orders.policies import OrderIntakePolicy

    return OrderIntakePolicy(_repository())


@cached
def order_fulfilment() -> OrderFulfilmentPolicy:
    from shop.orders.policies import OrderFulfilmentPolicy

    return OrderFulfilmentPolicy(_repository())


@cached
def order_queries() -> OrderQueries:
    from shop.orders.queries import OrderQueries
    from shop.views.dynamodb import DynamoDBView

    return OrderQueries(DynamoDBView.for_table(OrderQuerySettings.from_env().orders_view_table))


@cached
def fresh_order_queries() -> OrderQueries:
    """Strongly consistent reads, for a request that waits for its own write (consistency token)."""
    from shop.orders.queries import OrderQueries
    from shop.views.dynamodb import DynamoDBView

    table = OrderQuerySettings.from_env().orders_view_table
    return OrderQueries(DynamoDBView.for_table(table, consistent=True))


@cached
def consistency_tokens() -> TokenCodec:
    """Signs the ``X-Consistency-Token`` of command answers and checks it on GETs."""
    from shop.http.consistency import TokenCodec
    from shop.secrets import signing_secret

    return TokenCodec(signing_secret())


@cached
def order_cursors() -> CursorCodec:
    from shop.http.cursor import CursorCodec
    from shop.secrets import signing_secret

    return CursorCodec(signing_secret())


@cached
def orders_projector() -> ProjectionEngine:
    from shop.orders.projection import OrdersProjection
    from shop.projection.dynamodb import dynamodb_projection_engine

    settings = OrderProjectorSettings.from_env()
    return dynamodb_projection_engine(
        OrdersProjection(),
        events_table=settings.events_table,
        view_table=settings.orders_view_table,
        upcaster=order_events,
    )


@cached
def orders_projector_parking() -> DynamoDBParkingLot:
    """What OrderProjector parks (docs/parking.md)."""
    from shop.operations.parking_dynamodb import DynamoDBParkingLot

    settings = OrderProjectorParkingSettings.from_env()
    return DynamoDBParkingLot.for_table(settings.parked_table, "OrderProjector")


@cached
def order_intake_parking() -> DynamoDBParkingLot:
    """What OrderIntakePolicy parks (docs/parking.md)."""
    from shop.operations.parking_dynamodb import DynamoDBParkingLot

    settings = OrderIntakeParkingSettings.from_env()
    return DynamoDBParkingLot.for_table(settings.parked_table, "OrderIntakePolicy")


@cached
def order_fulfilment_parking() -> DynamoDBParkingLot:
    """What OrderFulfilmentPolicy parks (docs/parking.md)."""
    from shop.operations.parking_dynamodb import DynamoDBParkingLot

    settings = OrderFulfilmentParkingSettings.from_env()
    return DynamoDBParkingLot.for_table(settings.parked_table, "OrderFulfilmentPolicy")
