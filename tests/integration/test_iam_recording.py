"""The in-process stack records every AWS call as made by the function it was made for: the
handlers' own calls, and what the event source mappings do with the functions' roles (stream
reads, on-failure records). tests/conftest.py checks them against template.yaml after each test."""

from __future__ import annotations

from typing import Any

from local.aws import calls
from local.aws.calls import Call


def create(stack: Any, sku: str) -> str:
    body = {"sku": sku, "name": sku, "category": "iam", "price": {"amount": 100, "currency": "EUR"}}
    response = stack.command("POST", "/products", body)
    assert response.status == 201, response.body
    return str(response.json()["productId"])


def made(recorded: list[Call], function: str, operation: str) -> list[dict[str, Any]]:
    return [dict(c.params) for c in recorded if (c.function, c.operation) == (function, operation)]


def test_handlers_calls_and_stream_reads_are_recorded_for_their_functions(stack: Any) -> None:
    with calls.collecting() as recorded:
        product = create(stack, "IAM-1")
        assert stack.command("POST", f"/products/{product}/stock", {"quantity": 3}).status == 200
        stack.pump()

    store, stream = stack.physical["CatalogEventStore"], stack.attributes["CatalogEventStore.StreamArn"]
    assert made(recorded.calls(), "CatalogCommands", "TransactWriteItems") == [
        {"TransactItems": [{"Put": {"TableName": store}}, {"ConditionCheck": {"TableName": store}}]}
    ]
    for consumer in ("CatalogProjector", "OrderFulfilmentPolicy"):  # both read the Catalog stream
        assert {"StreamArn": stream} in made(recorded.calls(), consumer, "GetRecords"), consumer
    assert made(recorded.calls(), "CatalogProjector", "UpdateItem")  # the projection's writes
    test_code = [c for c in recorded.calls() if c.function not in stack.template.functions]
    assert test_code == []


def test_the_on_failure_record_is_sent_as_the_function(stack: Any) -> None:
    stack.clients.dynamodb.put_item(  # the test's own write: nobody's call
        TableName=stack.physical["CatalogEventStore"],
        Item={
            "streamId": {"S": "product-poison"},
            "version": {"N": "1"},
            "eventTypes": {"SS": ["ProductCreated"]},
            "events": {"S": "this is not JSON"},
        },
    )
    with calls.collecting() as recorded:
        stack.pump()

    assert made(recorded.calls(), "CatalogProjector", "SendMessage") == [
        {"QueueUrl": stack.queue_url("CatalogProjectorDLQ")}
    ]
    # ... and read back from the queue as the function (Lambda's SQS poller), which parks the record
    # with its own calls: the stream read back, the parked-records table (docs/parking.md).
    queue = {"QueueUrl": stack.queue_url("CatalogProjectorDLQ")}
    assert queue in made(recorded.calls(), "CatalogProjector", "ReceiveMessage")
    assert made(recorded.calls(), "CatalogProjector", "DeleteMessage") == [queue]
    parked = stack.physical["CatalogProjectorParked"]
    stream = {"StreamArn": stack.attributes["CatalogEventStore.StreamArn"]}
    assert stream in made(recorded.calls(), "CatalogProjector", "GetShardIterator")
    assert {"TableName": parked} in made(recorded.calls(), "CatalogProjector", "GetItem")
    assert any(
        item == {"Put": {"TableName": parked}}
        for call in made(recorded.calls(), "CatalogProjector", "TransactWriteItems")
        for item in call["TransactItems"]
    )
