"""Every file in events/ is a valid invocation of its function, with a known answer.

The samples address the demo catalog (product ids derive from SKUs), so the state they expect is
exactly what the local stack seeds: here the seed runs through the in-process Command API first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from local.functions import LambdaContext, load_handler
from local.seed import seed
from local.template import Template
from shop.catalog.domain import Product

EVENTS = Path(__file__).resolve().parents[2] / "events"

#: sample -> (status code, or the whole expected response of a stream consumer)
EXPECTED: dict[str, Any] = {
    "CatalogCommands/create-product.json": 201,
    "CatalogCommands/change-product-details.json": 200,
    "CatalogCommands/change-product-price.json": 200,
    "CatalogCommands/discontinue-product.json": 200,
    "CatalogCommands/receive-stock.json": 200,
    "CatalogQueries/list-products.json": 200,
    "CatalogQueries/get-product.json": 200,
    "CommandApiFallback/method-not-allowed.json": 405,
    "QueryApiFallback/not-found.json": 404,
    "CatalogProjector/catalog-stream.json": {"batchItemFailures": []},
}


def samples() -> list[str]:
    return sorted(str(p.relative_to(EVENTS)) for p in EVENTS.rglob("*.json"))


def test_every_sample_has_an_expected_answer() -> None:
    assert samples() == sorted(EXPECTED)


def test_every_function_has_a_sample(template: Template) -> None:
    assert {s.split("/")[0] for s in samples()} == set(template.functions)


def test_every_route_has_a_sample(template: Template) -> None:
    sampled = set()
    for sample in samples():
        event = json.loads((EVENTS / sample).read_text())
        if "routeKey" in event:
            sampled.add((sample.split("/")[0], event["routeKey"]))
    declared = {
        (r.function, "$default" if r.path == "$default" else f"{r.method} {r.path}") for r in template.routes
    }
    assert sampled == declared


def test_every_stream_subscription_has_a_sample(template: Template) -> None:
    consumers = {s.function for s in template.subscriptions}
    assert consumers <= {s.split("/")[0] for s in samples() if "Records" in (EVENTS / s).read_text()}


@pytest.mark.parametrize("sample", sorted(EXPECTED))
def test_sample_gets_its_expected_answer(stack: Any, template: Template, sample: str) -> None:
    def send(method: str, path: str, body: Any) -> tuple[int, Any]:
        response = stack.command(method, path, body)
        return response.status, response.json()

    seed(send)
    stack.pump()
    function = sample.split("/", maxsplit=1)[0]
    handler = load_handler(template.functions[function])
    event = json.loads((EVENTS / sample).read_text())

    answer = handler(event, LambdaContext(function))

    expected = EXPECTED[sample]
    if isinstance(expected, int):
        assert answer["statusCode"] == expected, answer["body"]
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
    else:
        assert answer == expected
