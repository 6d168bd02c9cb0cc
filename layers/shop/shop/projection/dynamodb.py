"""The projection engine over DynamoDB: a view written with checkpoints, gaps filled from the event store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shop.eventstore.dynamodb import DynamoDBEventStore
from shop.projection.engine import Projection, ProjectionEngine
from shop.views.dynamodb import DynamoDBView

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def dynamodb_projection_engine(
    client: DynamoDBClient, projection: Projection, *, events_table: str, view_table: str
) -> ProjectionEngine:
    """``projection`` into ``view_table`` (read consistently), gaps filled from ``events_table``."""
    return ProjectionEngine(
        projection,
        DynamoDBView(client, view_table, consistent=True),
        DynamoDBEventStore(client, events_table),
    )
