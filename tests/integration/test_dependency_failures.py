"""A table that does not answer is a 503 problem with ``Retry-After``, never a 500 nor a timeout
(spec §4 "Resilience": the failing service's routes answer 503 problem+json, never hang).

Faults are injected at the SDK's last step (``before-send``, ahead of moto): an error answer from
DynamoDB, or no answer at all (a connection refused, a read timing out).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from moto.core.botocore_stubber import MockRawResponse

from shop import ddb, telemetry
from shop.errors import DependencyUnavailable

Fault = Callable[[Any], AWSResponse]


def error_answer(status: int, code: str) -> Fault:
    def answer(request: Any) -> AWSResponse:
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected"})
        return AWSResponse(request.url, status, {"x-amzn-errortype": code}, MockRawResponse(body.encode()))

    return answer


def refused(request: Any) -> AWSResponse:
    raise EndpointConnectionError(endpoint_url=request.url)


def read_timeout(request: Any) -> AWSResponse:
    raise ReadTimeoutError(endpoint_url=request.url)


FAULTS: dict[str, Fault] = {
    "InternalServerError": error_answer(500, "InternalServerError"),
    "ServiceUnavailable": error_answer(503, "ServiceUnavailable"),
    "ThrottlingException": error_answer(400, "ThrottlingException"),
    "ProvisionedThroughputExceededException": error_answer(400, "ProvisionedThroughputExceededException"),
    "RequestLimitExceeded": error_answer(400, "RequestLimitExceeded"),
    "connection refused": refused,
    "read timeout": read_timeout,
}


def names_table(request: Any, table: str) -> bool:
    body = request.body.decode() if isinstance(request.body, bytes) else str(request.body or "")
    return f'"{table}"' in body


@contextmanager
def failing(table: str, fault: Fault) -> Iterator[list[str]]:
    """Every DynamoDB request naming ``table`` fails with ``fault``; yields the failed operations."""
    failed: list[str] = []

    def inject(request: Any, **_: Any) -> AWSResponse | None:
        if not names_table(request, table):
            return None
        failed.append(request.headers.get("X-Amz-Target", b"").decode().rpartition(".")[2])
        return fault(request)

    events = ddb.client().meta.events
    events.register_first("before-send.dynamodb", inject, unique_id="test-fault")
    try:
        yield failed
    finally:
        events.unregister("before-send.dynamodb", unique_id="test-fault")


def placed_order(stack: Any) -> str:
    product = stack.command(
        "POST",
        "/products",
        {"sku": "CUP", "name": "Cup", "category": "kitchen", "price": {"amount": 500, "currency": "EUR"}},
    ).json()["productId"]
    assert stack.command("POST", f"/products/{product}/stock", {"quantity": 5}).status == 200
    stack.pump()
    cart = stack.command("POST", "/carts", {"customerId": "alice"}).json()["cartId"]
    assert stack.command("POST", f"/carts/{cart}/items", {"productId": product, "quantity": 1}).status == 200
    stack.pump()
    checkout = stack.command("POST", f"/carts/{cart}/checkout")
    assert checkout.status == 202
    stack.pump()
    return str(checkout.json()["orderId"])


def assert_unavailable(response: Any) -> None:
    assert response.status == 503, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["type"] == "urn:shop:problem:dependency-unavailable"
    assert body["status"] == 503
    assert b"OrderEventStore" not in response.body  # what failed is logged, not told


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_cancelling_while_the_order_event_store_fails_is_a_503(stack: Any, fault: str) -> None:
    order_id = placed_order(stack)
    with failing(os.environ["ORDER_EVENTS_TABLE"], FAULTS[fault]) as failed:
        response = stack.command("POST", f"/orders/{order_id}/cancel")
    assert_unavailable(response)
    assert failed == ["Query", "Query"]  # the load, tried twice (the budget: 2 attempts), then given up
    assert stack.command("POST", f"/orders/{order_id}/cancel").status == 200  # and fine once it answers


def test_reading_an_order_while_its_view_fails_is_a_503(stack: Any) -> None:
    order_id = placed_order(stack)
    with failing(os.environ["ORDERS_VIEW_TABLE"], FAULTS["connection refused"]):
        response = stack.query("GET", f"/orders/{order_id}")
    assert_unavailable(response)


def test_browsing_does_not_touch_the_orders_tables(stack: Any) -> None:
    placed_order(stack)
    with failing(os.environ["ORDER_EVENTS_TABLE"], FAULTS["InternalServerError"]) as failed:
        assert stack.query("GET", "/products").status == 200
    assert failed == []


def test_the_error_keeps_what_failed_for_the_logs(stack: Any) -> None:
    table = os.environ["ORDER_EVENTS_TABLE"]
    with failing(table, FAULTS["ThrottlingException"]), pytest.raises(DependencyUnavailable) as raised:
        ddb.client().query(
            TableName=table,
            KeyConditionExpression="streamId = :s",
            ExpressionAttributeValues={":s": {"S": "order-1"}},
        )
    assert raised.value.dependency == f"DynamoDB {table}"
    assert raised.value.reason == "ThrottlingException"


def test_the_503_is_counted_as_a_failed_command_and_an_unavailable_dependency(
    stack: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    order_id = placed_order(stack)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    telemetry.reset()
    capsys.readouterr()
    with failing(os.environ["ORDER_EVENTS_TABLE"], FAULTS["ThrottlingException"]):
        assert stack.command("POST", f"/orders/{order_id}/cancel").status == 503
    telemetry.reset()

    [document] = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert {m["Name"] for m in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]} == {
        "CommandFailed",
        "DependencyUnavailable",
    }
