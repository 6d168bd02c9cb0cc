"""The projection engine over DynamoDB: a view written with checkpoints, gaps filled from the event store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shop import ddb
from shop.eventstore.dynamodb import DynamoDBEventStore
from shop.eventstore.upcasting import Upcaster
from shop.projection.engine import Projection, ProjectionEngine
from shop.views.dynamodb import DynamoDBView

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def dynamodb_projection_engine(
    projection: Projection,
    *,
    events_table: str,
    view_table: str,
    upcaster: Upcaster,
    client: DynamoDBClient | None = None,
) -> ProjectionEngine:
    """``projection`` into ``view_table`` (read consistently), gaps filled from ``events_table``
    (upcast by ``upcaster``, the registry of the service that owns it); through ``client``, by
    default this execution environment's."""
    client = client or ddb.client()
    return ProjectionEngine(
        projection,
        DynamoDBView(client, view_table, consistent=True),
        DynamoDBEventStore(client, events_table, upcaster=upcaster),
    )
