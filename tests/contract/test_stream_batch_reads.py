"""The parker reads back the records an on-failure record names (shop.operations.parking_dynamodb.
StreamBatches), from a table's stream on the moto server."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from shop.operations.parking import StreamBatchInfo
from shop.operations.parking_dynamodb import StreamBatches
from tests.support.tables import create_table


@pytest.fixture
def stream(
    endpoint_dynamodb: Any, moto_endpoint: str, template: Any
) -> tuple[Any, str, list[dict[str, Any]]]:
    """An event store with five commits; its stream ARN and its records (GetRecords shape)."""
    table = create_table(endpoint_dynamodb, template, "CatalogEventStore")
    for n, stream_id in enumerate(["product-1", "stock-1", "product-1", "product-2", "product-1"]):
        endpoint_dynamodb.put_item(
            TableName=table,
            Item={"streamId": {"S": stream_id}, "version": {"N": str(n + 1)}, "events": {"S": "[]"}},
        )
    streams = boto3.client("dynamodbstreams", endpoint_url=moto_endpoint)
    arn = endpoint_dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    [shard] = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )
    records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    assert len(records) == 5
    return streams, arn, records


def batch(arn: str, shard: str, first: dict[str, Any], last: dict[str, Any], size: int) -> StreamBatchInfo:
    return StreamBatchInfo(
        shardId=shard,
        startSequenceNumber=first["dynamodb"]["SequenceNumber"],
        endSequenceNumber=last["dynamodb"]["SequenceNumber"],
        batchSize=size,
        streamArn=arn,
    )


def test_every_record_from_the_first_to_the_last_sequence_number_comes_back_as_lambda_delivered_it(
    stream: tuple[Any, str, list[dict[str, Any]]],
) -> None:
    streams, arn, records = stream
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]

    read = StreamBatches(streams, pause=0).read(batch(arn, shard, records[1], records[3], 2))

    assert read is not None
    assert [r["dynamodb"]["SequenceNumber"] for r in read] == [
        r["dynamodb"]["SequenceNumber"] for r in records[1:4]
    ]
    assert [r["dynamodb"]["Keys"]["streamId"]["S"] for r in read] == ["stock-1", "product-1", "product-2"]
    first = read[0]
    assert (first["eventSource"], first["eventSourceARN"], first["awsRegion"]) == (
        "aws:dynamodb",
        arn,
        "us-east-1",
    )
    assert first["dynamodb"]["NewImage"]["events"] == {"S": "[]"}
    assert isinstance(first["dynamodb"]["ApproximateCreationDateTime"], float)


def test_records_of_a_stream_that_is_gone_are_none(stream: tuple[Any, str, list[dict[str, Any]]]) -> None:
    streams, _, records = stream
    gone = "arn:aws:dynamodb:us-east-1:123456789012:table/Deleted/stream/2000-01-01T00:00:00.000"

    assert (
        StreamBatches(streams, pause=0).read(batch(gone, "shardId-x" * 4, records[0], records[0], 1)) is None
    )
