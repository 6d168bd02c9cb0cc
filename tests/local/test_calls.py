"""Recording which AWS calls each function makes (local/aws/calls.py), for the IAM coverage check.

What these tests record is also checked against template.yaml by tests/conftest.py, so they use
the template's functions and resources and calls their roles allow.
"""

from __future__ import annotations

import threading
from pathlib import Path

import boto3
from botocore.stub import Stubber

from local.aws import calls
from local.aws.calls import Call, CallFile, CallFileReader


def test_only_the_names_of_resources_are_kept() -> None:
    params = {
        "TableName": "Store",
        "Item": {"id": {"S": "secret"}},
        "TransactItems": [
            {"Put": {"TableName": "Store", "Item": {"id": {"S": "x"}}}},
            {"ConditionCheck": {"TableName": "Store", "Key": {"id": {"S": "y"}}}},
        ],
        "RequestItems": {"View": [{"PutRequest": {"Item": {}}}]},
    }

    assert calls.resource_params(params) == {
        "TableName": "Store",
        "TransactItems": [{"Put": {"TableName": "Store"}}, {"ConditionCheck": {"TableName": "Store"}}],
        "RequestItems": {"View": {}},
    }


def test_botocore_calls_are_recorded_only_while_acting_as_a_function() -> None:
    calls.install()
    client = boto3.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub, calls.collecting() as recorded:
        stub.add_response("get_item", {}, {"TableName": "ProductsView", "Key": {"id": {"S": "1"}}})
        stub.add_response("get_item", {}, {"TableName": "ProductsView", "Key": {"id": {"S": "2"}}})
        client.get_item(TableName="ProductsView", Key={"id": {"S": "1"}})  # the test's own: nobody's
        with calls.acting_as("CatalogQueries"):
            client.get_item(TableName="ProductsView", Key={"id": {"S": "2"}})

    assert recorded.calls() == [Call("CatalogQueries", "dynamodb", "GetItem", {"TableName": "ProductsView"})]


def test_a_functions_own_get_records_is_recorded_on_the_stream_its_iterator_reads() -> None:
    """GetRecords names only an iterator; IAM authorises it on the stream the iterator came from
    (the parker reads records back with its own client: shop.operations.parking_dynamodb)."""
    calls.install()
    client = boto3.client(
        "dynamodbstreams", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stream = "arn:aws:dynamodb:us-east-1:123456789012:table/CatalogEventStore/stream/2030-01-01T00:00:00.000"
    first, second = "iterator-1" * 3, "iterator-2" * 3
    where = {
        "StreamArn": stream,
        "ShardId": "shardId-00000001573689847184-864758bb",
        "ShardIteratorType": "TRIM_HORIZON",
    }
    with Stubber(client) as stub, calls.collecting() as recorded, calls.acting_as("CatalogProjector"):
        stub.add_response("get_shard_iterator", {"ShardIterator": first}, where)
        stub.add_response(
            "get_records", {"Records": [], "NextShardIterator": second}, {"ShardIterator": first}
        )
        stub.add_response("get_records", {"Records": []}, {"ShardIterator": second})
        iterator = client.get_shard_iterator(**where)["ShardIterator"]
        following = client.get_records(ShardIterator=iterator)["NextShardIterator"]
        client.get_records(ShardIterator=following)

    assert [c.params for c in recorded.calls()] == [{"StreamArn": stream}] * 3
    assert [c.operation for c in recorded.calls()] == ["GetShardIterator", "GetRecords", "GetRecords"]


def test_a_call_made_for_several_functions_is_recorded_for_each() -> None:
    stream = "arn:aws:dynamodb:us-east-1:123456789012:table/CatalogEventStore/stream/2026-01-01T00:00:00"
    with calls.collecting() as recorded:
        calls.record(
            ("CatalogProjector", "OrderFulfilmentPolicy"),
            "dynamodbstreams",
            "GetRecords",
            {
                "StreamArn": stream,
                "ShardIterator": "it",
            },
        )

    assert recorded.calls() == [
        Call(function, "dynamodbstreams", "GetRecords", {"StreamArn": stream})
        for function in ("CatalogProjector", "OrderFulfilmentPolicy")
    ]


def test_a_call_file_is_shared_by_writers_and_read_as_it_grows(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    reader = CallFileReader(path)
    assert reader.new_calls() == []
    writers = [CallFile(path) for _ in range(4)]
    one = Call("Writer", "dynamodb", "PutItem", {"TableName": "Store"})

    threads = [threading.Thread(target=lambda w=w: [w(one) for _ in range(50)]) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with path.open("a") as stream:
        stream.write('{"function": "Half')  # a line still being written

    assert reader.new_calls() == [one] * 200
    assert reader.new_calls() == []
    with path.open("a") as stream:
        stream.write('", "service": "sqs", "operation": "SendMessage", "QueueUrl": "q"}\n')
    assert reader.new_calls() == [Call("Half", "sqs", "SendMessage", {"QueueUrl": "q"})]
