"""Reading a table's whole stream back and delivering it again, as Lambda may (at least once)."""

from __future__ import annotations

from typing import Any

from local.aws.esm import lambda_record
from local.aws.filters import accepts
from local.stack.stack import Stack


def stream_records(stack: Stack, table: str) -> list[dict[str, Any]]:
    streams = stack.clients.streams
    arn = stack.attributes[f"{table}.StreamArn"]
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )
        records += [
            lambda_record(r, arn, "us-east-1")
            for r in streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
        ]
    return records


def replay_everything(stack: Stack, only: str | None = None) -> int:
    """Deliver every record of every stream once more to every consumer (filters applied)."""
    delivered = 0
    assert stack.invoker is not None
    for subscription in stack.template.subscriptions:
        if only and subscription.function != only:
            continue
        filters = (subscription.setting("FilterCriteria") or {}).get("Filters", [])
        records = [r for r in stream_records(stack, subscription.table) if accepts(filters, r)]
        size = int(subscription.setting("BatchSize", 100))
        for start in range(0, len(records), size):
            answer = stack.invoker.invoke(subscription.function, {"Records": records[start : start + size]})
            assert answer == {"batchItemFailures": []}, (subscription.function, answer)
            delivered += 1
    return delivered


def table_items(stack: Stack, logical: str) -> list[dict[str, Any]]:
    client = stack.clients.dynamodb
    items: list[dict[str, Any]] = []
    query: dict[str, Any] = {"TableName": stack.physical[logical], "ConsistentRead": True}
    while True:
        page = client.scan(**query)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda item: str(sorted(item.items())))
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
