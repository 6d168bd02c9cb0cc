"""DynamoDB views: one adapter for the Query API (reads, pages) and the projectors (checkpointed updates)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self

from botocore.exceptions import ClientError

from shop import ddb
from shop.ddb import from_item, to_attribute, to_item
from shop.views.port import Changes, CheckpointMoved, Checkpoints, Move, Page, Row, View

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoDBView(View):
    """A read table. ``consistent`` reads are for projectors, which must see their own last write;
    queries read eventually consistent (half the cost)."""

    def __init__(self, client: DynamoDBClient, table_name: str, *, consistent: bool = False) -> None:
        self._client = client
        self.table_name = table_name
        self._consistent = consistent

    @classmethod
    def for_table(cls, table_name: str, *, consistent: bool = False) -> Self:
        """The view in ``table_name``, through this execution environment's client."""
        return cls(ddb.client(), table_name, consistent=consistent)

    def get(self, key: Mapping[str, str]) -> Row | None:
        response = self._client.get_item(
            TableName=self.table_name, Key=to_item(key), ConsistentRead=self._consistent
        )
        item = response.get("Item")
        return from_item(item) if item else None

    def page(
        self,
        *,
        index: str,
        partition: tuple[str, str],
        key_attributes: Sequence[str],
        limit: int,
        start: Mapping[str, Any] | None = None,
        newest_first: bool = False,
    ) -> Page:
        """Asks for one item more than ``limit`` so the last page is known to be last (no empty page)."""
        start = self.checked_start(start, partition, key_attributes)
        name, value = partition
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": index,
            "KeyConditionExpression": "#p = :p",
            "ExpressionAttributeNames": {"#p": name},
            "ExpressionAttributeValues": {":p": {"S": value}},
            "Limit": limit + 1,
            "ScanIndexForward": not newest_first,
        }
        if start:
            query["ExclusiveStartKey"] = to_item(start)
        items: list[dict[str, Any]] = []
        while len(items) <= limit:
            response = self._client.query(**query)
            items.extend(from_item(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
            query["Limit"] = limit + 1 - len(items)
        if len(items) <= limit:
            return Page(items, None)
        last = items[limit - 1]
        return Page(items[:limit], {attribute: last[attribute] for attribute in key_attributes})

    def update(
        self, key: Mapping[str, str], changes: Changes, checkpoint: str, expected: int, new: int
    ) -> None:
        """Apply ``changes`` and move ``checkpoint`` to ``new``, iff it is ``expected`` (0 = absent)."""
        self.update_many(key, changes, {checkpoint: Move(expected, new)})

    def update_many(self, key: Mapping[str, str], changes: Changes, checkpoints: Checkpoints) -> None:
        """One ``UpdateItem``: ``changes``, and every checkpoint moved to its ``new``, on the condition
        that each is at its ``expected`` (0 = absent): a writer that moved any of them since the row
        was read makes it fail, whichever source stream it wrote."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets: list[str] = []
        conditions: list[str] = []
        for index, (checkpoint, move) in enumerate(checkpoints.items()):
            names[f"#cp{index}"] = checkpoint
            values[f":new{index}"] = to_attribute(move.new)
            sets.append(f"#cp{index} = :new{index}")
            if move.expected == 0:
                conditions.append(f"attribute_not_exists(#cp{index})")
            else:
                conditions.append(f"#cp{index} = :expected{index}")
                values[f":expected{index}"] = to_attribute(move.expected)
        removes = []
        for index, (name, value) in enumerate(changes.items()):
            if name in key or name in checkpoints:
                continue
            names[f"#a{index}"] = name
            if value is None:
                removes.append(f"#a{index}")
            else:
                values[f":v{index}"] = to_attribute(value)
                sets.append(f"#a{index} = :v{index}")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key=to_item(key),
                UpdateExpression=expression,
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                expected = ", ".join(f"{name} is not {move.expected}" for name, move in checkpoints.items())
                raise CheckpointMoved(f"{self.table_name} {dict(key)}: {expected}") from None
            raise
