"""The Catalog flow over real HTTP against the local stack (moto server, workers, stream pollers)."""

from __future__ import annotations

import uuid

import boto3

from local.stack.client import call, eventually
from local.stack.process import StackProcess
from shop.operations.parking_dynamodb import DynamoDBParkingLot


def new_sku() -> str:
    return f"E2E-{uuid.uuid4().hex[:10]}"


def create(stack: StackProcess, name: str, category: str, cents: int = 500) -> str:
    reply = call(
        "POST",
        f"{stack.command}/products",
        {"sku": new_sku(), "name": name, "category": category, "price": {"amount": cents, "currency": "EUR"}},
        token=stack.tokens["admin"],
    )
    assert reply.status == 201, reply.body
    assert reply.headers["Location"] == f"/products/{reply.json()['productId']}"
    return str(reply.json()["productId"])


def listed(stack: StackProcess, category: str) -> list[str]:
    reply = call("GET", f"{stack.query}/products?category={category}&limit=100")
    assert reply.status == 200
    return [item["name"] for item in reply.json()["items"]]


def test_create_see_list_discontinue(local_stack: StackProcess) -> None:
    category = f"e2e-{uuid.uuid4().hex[:8]}"
    mug = create(local_stack, "Mug", category)
    create(local_stack, "Bowl", category)

    product = eventually(
        lambda: (r := call("GET", f"{local_stack.query}/products/{mug}")).status == 200 and r
    )
    assert product.json()["name"] == "Mug"
    assert product.json()["status"] == "ACTIVE"
    assert product.headers["ETag"] == '"1.0"'
    eventually(lambda: listed(local_stack, category) == ["Bowl", "Mug"])

    stocked = call(
        "POST",
        f"{local_stack.command}/products/{mug}/stock",
        {"quantity": 4},
        token=local_stack.tokens["admin"],
    )
    assert (stocked.status, stocked.json()["stockVersion"]) == (200, 1)
    eventually(lambda: call("GET", f"{local_stack.query}/products/{mug}").json()["available"] == 4)

    assert (
        call(
            "POST", f"{local_stack.command}/products/{mug}/discontinue", token=local_stack.tokens["admin"]
        ).status
        == 200
    )
    eventually(lambda: listed(local_stack, category) == ["Bowl"])
    assert call("GET", f"{local_stack.query}/products/{mug}").json()["status"] == "DISCONTINUED"
    again = call(
        "POST", f"{local_stack.command}/products/{mug}/discontinue", token=local_stack.tokens["admin"]
    )
    assert (again.status, again.headers["Content-Type"]) == (409, "application/problem+json")


def test_errors_are_problems_over_http(local_stack: StackProcess) -> None:
    cases = [
        ("POST", f"{local_stack.command}/products", b"{oops", 400),
        ("POST", f"{local_stack.command}/products", {"sku": "x y"}, 422),
        ("GET", f"{local_stack.command}/products", None, 405),
        ("DELETE", f"{local_stack.query}/products", None, 405),
        ("GET", f"{local_stack.query}/products/{uuid.uuid4()}", None, 404),
        ("GET", f"{local_stack.query}/nowhere", None, 404),
        ("GET", f"{local_stack.query}/products?limit=1000", None, 400),
        ("POST", f"{local_stack.command}/products", {"description": "x" * 70_000}, 413),
    ]
    for method, url, body, status in cases:
        reply = call(method, url, body, token=local_stack.tokens["admin"])
        assert reply.status == status, (method, url, reply.body)
        assert reply.headers["Content-Type"] == "application/problem+json"
        assert reply.json()["status"] == status


def test_a_failing_record_does_not_stop_the_others_and_ends_parked(local_stack: StackProcess) -> None:
    """A commit no projector can decode: the others flow; Lambda gives up on it, sends its on-failure
    record to CatalogProjectorDLQ, and CatalogProjector reads the queue back and parks the record
    (docs/parking.md). The hand-made item is removed at the end: the shared stack's store stays one
    that ``shopctl rebuild`` can scan (tests/e2e/test_state_and_rebuild.py)."""
    dynamodb = boto3.client("dynamodb", endpoint_url=local_stack.endpoint)
    sqs = boto3.client("sqs", endpoint_url=local_stack.endpoint)
    poison_stream = f"product-{uuid.uuid4()}"
    poison_key = {"streamId": {"S": poison_stream}, "version": {"N": "1"}}
    dynamodb.put_item(
        TableName="CatalogEventStore",
        Item={
            **poison_key,
            "correlationId": {"S": "e2e"},
            "causationId": {"S": "e2e"},
            "eventTypes": {"SS": ["ProductCreated"]},
            "events": {"S": "this is not JSON"},
        },
    )
    try:
        healthy = create(local_stack, "After the poison", f"e2e-{uuid.uuid4().hex[:8]}")

        eventually(lambda: call("GET", f"{local_stack.query}/products/{healthy}").status == 200)

        lot = DynamoDBParkingLot(dynamodb, "CatalogProjectorParked", "CatalogProjector")
        parked = eventually(lambda: lot.stream(poison_stream), timeout=60)
        assert parked.failure.condition == "RetryAttemptsExhausted"
        assert parked.failure.error.startswith("JSONDecodeError: ")
        [record] = parked.records
        catalog_stream = dynamodb.describe_table(TableName="CatalogEventStore")["Table"]["LatestStreamArn"]
        assert record.record["eventSourceARN"] == catalog_stream
        assert record.record["dynamodb"]["NewImage"]["events"] == {"S": "this is not JSON"}
        assert any("RetryAttemptsExhausted" in line for line in local_stack.output)
        queue = sqs.get_queue_url(QueueName="CatalogProjectorDLQ")["QueueUrl"]

        def drained() -> bool:
            attributes = sqs.get_queue_attributes(
                QueueUrl=queue,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            return all(value == "0" for value in attributes.values())

        assert eventually(drained, timeout=30)  # read back and deleted: nothing waits in the queue
    finally:
        dynamodb.delete_item(TableName="CatalogEventStore", Key=poison_key)
