"""DynamoDB read table: consistent reads, and updates conditional on the source's checkpoint."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from shop.ddb import from_item, to_attribute, to_item
from shop.eventstore.dynamodb import DynamoDBEventStore
from shop.projection.engine import Changes, CheckpointMoved, Projection, ProjectionEngine

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoDBReadTable:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self.table_name = table_name

    def get(self, key: Mapping[str, str]) -> dict[str, Any] | None:
        response = self._client.get_item(TableName=self.table_name, Key=to_item(key), ConsistentRead=True)
        item = response.get("Item")
        return from_item(item) if item else None

    def update(
        self, key: Mapping[str, str], changes: Changes, checkpoint: str, expected: int, new: int
    ) -> None:
        names: dict[str, str] = {"#cp": checkpoint}
        values: dict[str, Any] = {":new": to_attribute(new)}
        sets = ["#cp = :new"]
        removes = []
        for index, (name, value) in enumerate(changes.items()):
            if name in key or name == checkpoint:
                continue
            names[f"#a{index}"] = name
            if value is None:
                removes.append(f"#a{index}")
            else:
                values[f":v{index}"] = to_attribute(value)
                sets.append(f"#a{index} = :v{index}")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        if expected == 0:
            condition = "attribute_not_exists(#cp)"
        else:
            condition = "#cp = :expected"
            values[":expected"] = to_attribute(expected)
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key=to_item(key),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise CheckpointMoved(
                    f"{self.table_name} {dict(key)}: {checkpoint} is not {expected}"
                ) from None
            raise


def dynamodb_projection_engine(
    client: DynamoDBClient, projection: Projection, *, events_table: str, view_table: str
) -> ProjectionEngine:
    """A projector over DynamoDB: ``projection`` into ``view_table``, gaps filled from ``events_table``."""
    return ProjectionEngine(
        projection, DynamoDBReadTable(client, view_table), DynamoDBEventStore(client, events_table)
    )
