"""Every file in events/ is a valid invocation of its function, with a known answer.

The samples address the demo catalog (product ids derive from SKUs) and the sample carts and
order that ``local.demo.samples`` creates with fixed ids: exactly what the local stack sets up at
start. Here the same set-up runs in process first, then each sample is invoked on its handler,
as ``sam local invoke`` does: straight to the function, with no authorizer in between. A sample
expected to be ``Replayed`` is invoked twice, like a client retrying it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local.aws import calls
from local.aws.apigw import HttpRequest
from local.aws.functions import LambdaContext, load_handler
from local.aws.template import Template
from local.demo.fixtures import SAMPLE_ORDER, create_sample_aggregates
from local.demo.samples import EVENTS, render, samples
from local.demo.seed import seed
from shop.catalog.domain import Product

OK = {"batchItemFailures": []}


@dataclass(frozen=True)
class Replayed:
    """Invoked twice with its ``Idempotency-Key``: ``status`` first, then that very answer again,
    marked ``Idempotent-Replayed: true``, with nothing appended in between."""

    status: int


#: sample -> status code (HTTP samples) or the whole expected response (stream samples)
EXPECTED: dict[str, Any] = {
    "CatalogCommands/create-product.json": 201,
    "CatalogCommands/create-product-as-customer.json": 403,
    # No authorizer ran (sam local invoke): the function refuses a request nobody vouched for.
    "CatalogCommands/create-product-without-token.json": 403,
    "CatalogCommands/change-product-details.json": 200,
    "CatalogCommands/change-product-price.json": 200,
    "CatalogCommands/discontinue-product.json": 200,
    "CatalogCommands/receive-stock.json": 200,
    "CatalogCommands/receive-stock-with-idempotency-key.json": Replayed(200),
    "CatalogQueries/list-products.json": 200,
    "CatalogQueries/get-product.json": 200,
    "CatalogQueries/get-product-unchanged.json": 304,
    "CommandApiFallback/method-not-allowed.json": 405,
    "QueryApiFallback/not-found.json": 404,
    "CatalogProjector/catalog-stream.json": OK,
    "CartCommands/create-cart.json": 201,
    "CartCommands/create-cart-for-a-customer.json": 201,
    "CartCommands/add-cart-item.json": 200,
    "CartCommands/set-cart-item-quantity.json": 200,
    "CartCommands/remove-cart-item.json": 200,
    "CartCommands/check-out-cart.json": 202,
    "CartQueries/get-cart.json": 200,
    "CartQueries/get-cart-of-another-customer.json": 404,
    "CartProjector/cart-stream.json": OK,
    "OrderIntakePolicy/cart-checked-out.json": OK,
    "OrderCommands/cancel-order.json": 200,
    "OrderQueries/get-order.json": 200,
    "OrderQueries/list-customer-orders.json": 200,
    "OrderQueries/list-another-customers-orders.json": 403,
    "OrderProjector/order-stream.json": OK,
    "StockReservationPolicy/order-placed.json": OK,
    "OrderFulfilmentPolicy/reservation-confirmed.json": OK,
}


def files() -> list[str]:
    return sorted(str(p.relative_to(EVENTS)) for p in EVENTS.rglob("*.json"))


def test_every_sample_has_an_expected_answer() -> None:
    assert files() == sorted(EXPECTED)


def test_the_sample_files_are_current(template: Template) -> None:
    generated = samples(template)
    assert sorted(generated) == files()
    for name, sample in generated.items():
        assert (EVENTS / name).read_text() == render(sample), f"{name}: run python -m local.demo.samples"


def test_every_function_has_a_sample(template: Template) -> None:
    assert {s.split("/")[0] for s in files()} == set(template.functions)


def test_every_route_has_a_sample(template: Template) -> None:
    sampled = set()
    for sample in files():
        event = json.loads((EVENTS / sample).read_text())
        if "routeKey" in event:
            sampled.add((sample.split("/")[0], event["routeKey"]))
    declared = {
        (r.function, "$default" if r.path == "$default" else f"{r.method} {r.path}") for r in template.routes
    }
    assert sampled == declared


def test_http_samples_carry_claims_exactly_where_the_template_puts_an_authorizer(template: Template) -> None:
    protected = {f"{r.method} {r.path}" for r in template.routes if r.authorizer is not None}
    for sample in files():
        event = json.loads((EVENTS / sample).read_text())
        if "routeKey" not in event or sample.endswith("-without-token.json"):
            continue
        claims = event["requestContext"].get("authorizer", {}).get("jwt", {}).get("claims")
        assert (claims is not None) == (event["routeKey"] in protected), sample
        if claims is not None:
            assert all(isinstance(value, str) for value in claims.values()), sample  # payload 2.0


def test_the_sample_without_a_token_is_refused_by_the_authorizer_before_any_function(stack: Any) -> None:
    event = json.loads((EVENTS / "CatalogCommands/create-product-without-token.json").read_text())
    request = HttpRequest(
        event["requestContext"]["http"]["method"],
        event["rawPath"],
        event["rawQueryString"],
        event["headers"],
        event["body"].encode(),
    )
    response, served_by = stack.serve_http("CommandApi", request)
    assert (response.status, response.json()) == (401, {"message": "Unauthorized"})
    assert response.headers["www-authenticate"] == "Bearer"
    assert served_by.startswith("CognitoJwt")  # the authorizer, not CatalogCommands


def test_every_stream_subscription_has_a_sample(template: Template) -> None:
    consumers = {s.function for s in template.subscriptions}
    assert consumers <= {s.split("/")[0] for s in files() if "Records" in (EVENTS / s).read_text()}


@pytest.mark.parametrize("sample", sorted(EXPECTED))
def test_sample_gets_its_expected_answer(stack: Any, template: Template, sample: str) -> None:
    def send(method: str, path: str, body: Any) -> tuple[int, Any]:
        response = stack.command(method, path, body)
        return response.status, response.json()

    seed(send)
    create_sample_aggregates(stack.clients.dynamodb, stack.physical)
    stack.pump()
    assert stack.query("GET", f"/orders/{SAMPLE_ORDER}").json()["status"] == "CONFIRMED"
    function = sample.split("/", maxsplit=1)[0]
    handler = load_handler(template.functions[function])
    event = json.loads(Path(EVENTS / sample).read_text())

    with calls.acting_as(function):  # its AWS calls are checked against its role (tests/conftest.py)
        answer = handler(event, LambdaContext(function))

    expected = EXPECTED[sample]
    if isinstance(expected, Replayed):
        assert answer["statusCode"] == expected.status, answer["body"]
        assert "Idempotent-Replayed" not in answer["headers"]
        stored = stack.clients.dynamodb.scan(TableName=stack.physical["CatalogEventStore"])["Count"]
        with calls.acting_as(function):
            again = handler(event, LambdaContext(function))
        assert again == {**answer, "headers": {**answer["headers"], "Idempotent-Replayed": "true"}}
        assert stack.clients.dynamodb.scan(TableName=stack.physical["CatalogEventStore"])["Count"] == stored
        return
    if isinstance(expected, int):
        assert answer["statusCode"] == expected, answer["body"]
        if expected == 304:  # a conditional GET that matched: the validators, no body
            assert (answer["body"], answer["headers"]["ETag"]) == ("", '"1.1"')
            assert answer["headers"]["Cache-Control"] == "no-cache"
            return
        body = json.loads(answer["body"])
        if expected >= 400:
            assert answer["headers"]["Content-Type"] == "application/problem+json"
            assert body["status"] == expected
        if sample == "CatalogCommands/create-product.json":
            assert body["productId"] == Product.id_for_sku("SAMPLE-TEA-01")
        if sample == "CatalogQueries/get-product.json":
            assert body["name"] == "Espresso cup"
        if sample == "CatalogQueries/list-products.json":
            assert [item["category"] for item in body["items"]] == ["coffee", "coffee"]
        if sample == "OrderQueries/list-customer-orders.json":
            assert [order["orderId"] for order in body["items"]] == [SAMPLE_ORDER]
    else:
        assert answer == expected
