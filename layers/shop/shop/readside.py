"""Reading read tables for the Query API: single rows and pages of an index."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shop.ddb import from_item, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    #: Where the next page starts (the last item's key), or ``None`` on the last page.
    next_position: dict[str, Any] | None


class DynamoDBView:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self.table_name = table_name

    def get(self, key: Mapping[str, str], *, consistent: bool = False) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self.table_name, Key=to_item(key), ConsistentRead=consistent
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
        """Up to ``limit`` items of one index partition, in sort-key order.

        Asks for one item more than ``limit`` so the last page is known to be last (no empty page).
        """
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
