"""``shopctl parked`` and ``shopctl redrive`` against a stack on the moto server (``--endpoint-url``):
what they show and do, and their exit codes (docs/operations.md)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from local.stack.stack import Stack
from shop.catalog.projection import ProductsProjection
from shop.eventstore.model import RecordedEvent
from shop.operations.parking import Failure, StreamBatchInfo
from shop.operations.parking_dynamodb import DynamoDBParkingLot
from shopctl import errors
from shopctl.app import app
from tests.integration.test_shopctl import physical
from tests.support.replay import check, read_snapshot

runner = CliRunner()


def shopctl(stack: Stack, *arguments: str) -> Any:
    return runner.invoke(
        app, [*arguments, "--endpoint-url", stack.clients.endpoint_url, "--prefix", stack.prefix]
    )


def documents(result: Any) -> list[Any]:
    """Every JSON document printed (a failed command prints its answer, then its error)."""
    decoder, text, found = json.JSONDecoder(), result.output.strip(), []
    while text:
        document, end = decoder.raw_decode(text)
        found.append(document)
        text = text[end:].strip()
    return found


class Poison(Exception):
    pass


@pytest.fixture
def poisoned(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """ProductsProjection refuses events of products named "Poison ..." until ``undo()``."""
    apply = ProductsProjection.apply

    def refusing(self: ProductsProjection, row: Any, event: RecordedEvent) -> Any:
        if str(event.data.get("name", row.get("name", ""))).startswith("Poison"):
            raise Poison(f"{event.stream_id} v{event.version}")
        return apply(self, row, event)

    monkeypatch.setattr(ProductsProjection, "apply", refusing)
    return monkeypatch


def product(stack: Stack, sku: str, name: str) -> str:
    body = {"sku": sku, "name": name, "category": "cli", "price": {"amount": 100, "currency": "EUR"}}
    created = stack.command("POST", "/products", body)
    assert created.status == 201, created.body
    return str(json.loads(created.body)["productId"])


def test_parked_lists_what_was_parked_and_redrive_brings_it_back_once_fixed(
    server_stack: Stack, poisoned: pytest.MonkeyPatch
) -> None:
    fine, pill = product(server_stack, "OK-1", "Fine"), product(server_stack, "BAD-1", "Poison pill")
    server_stack.pump()
    assert (
        server_stack.command("PUT", f"/products/{pill}/price", {"amount": 5, "currency": "EUR"}).status == 200
    )
    server_stack.pump()

    [listed] = documents(shopctl(server_stack, "parked", "--json"))[0]["parked"]
    assert (listed["consumer"], listed["streamId"], listed["unresolved"]) == (
        "CatalogProjector",
        f"product-{pill}",
        False,
    )
    assert (listed["condition"], listed["failedVersion"]) == ("RetryAttemptsExhausted", 1)
    assert listed["error"] == f"Poison: product-{pill} v1"
    assert [(r["version"], r["eventTypes"]) for r in listed["records"]] == [
        (1, ["ProductCreated"]),
        (2, ["ProductPriceChanged"]),
    ]
    assert listed["lastRedrive"] is None
    narrowed = shopctl(
        server_stack, "parked", "--consumer", "OrderProjector", "--stream", f"product-{pill}", "--json"
    )
    assert documents(narrowed)[0]["parked"] == []
    table = shopctl(server_stack, "parked")
    assert table.exit_code == 0
    assert "CatalogProjector" in table.output
    assert "RetryAttemptsExhausted" in table.output

    still = shopctl(server_stack, "redrive", "--json")
    assert still.exit_code == errors.FAILED == 1
    answer, error = documents(still)
    assert answer["redriven"] == [
        {
            "consumer": "CatalogProjector",
            "streamId": f"product-{pill}",
            "delivered": 0,
            "remaining": 2,
            "released": False,
            "stopped": answer["redriven"][0]["stopped"] | {"condition": "redrive", "version": 1},
        }
    ]
    assert answer["redriven"][0]["stopped"]["error"] == f"Poison: product-{pill} v1"
    assert error["error"] == "failed"
    assert "still fails" in error["message"]

    poisoned.undo()  # the fix
    done = documents(shopctl(server_stack, "redrive", "--consumer", "CatalogProjector", "--json"))[0]
    assert [(r["streamId"], r["delivered"], r["released"]) for r in done["redriven"]] == [
        (f"product-{pill}", 2, True)
    ]
    assert documents(shopctl(server_stack, "parked", "--json"))[0]["parked"] == []
    report = check(read_snapshot(server_stack.clients.dynamodb, physical(server_stack)))
    assert report.ok, report.summary()
    assert fine
    nothing = shopctl(server_stack, "redrive")
    assert nothing.exit_code == 0
    assert "Nothing is parked" in nothing.output


def test_redrive_of_a_stream_that_is_not_parked_is_exit_code_4(server_stack: Stack) -> None:
    result = shopctl(server_stack, "redrive", "--stream", "product-none", "--json")
    assert result.exit_code == errors.NO_SUCH_STREAM == 4
    assert documents(result)[0]["error"] == "no-such-stream"


def test_an_unknown_consumer_is_exit_code_3(server_stack: Stack) -> None:
    for subcommand in ("parked", "redrive"):
        result = shopctl(server_stack, subcommand, "--consumer", "NoSuchProjector", "--json")
        assert result.exit_code == errors.UNKNOWN_RESOURCE == 3, result.output
        assert "stream consumers: CatalogProjector" in documents(result)[0]["message"]


def test_an_unresolved_entry_is_listed_and_cannot_be_redriven(server_stack: Stack) -> None:
    lot = DynamoDBParkingLot(
        server_stack.clients.dynamodb, f"{server_stack.prefix}OrderIntakePolicyParked", "OrderIntakePolicy"
    )
    batch = StreamBatchInfo(
        shardId="shardId-1",
        startSequenceNumber="100",
        endSequenceNumber="120",
        batchSize=3,
        streamArn="arn:aws:dynamodb:us-east-1:123456789012:table/CartEventStore/stream/x",
    )
    key = lot.park_unresolved(
        batch, Failure("the records left the stream", "2030-01-01T00:00:00Z", "RecordAgeExceeded")
    )

    [listed] = documents(shopctl(server_stack, "parked", "--consumer", "OrderIntakePolicy", "--json"))[0][
        "parked"
    ]
    assert (listed["streamId"], listed["unresolved"], listed["batch"]["batchSize"]) == (key, True, 3)
    refused = shopctl(server_stack, "redrive", "--stream", key, "--json")
    assert refused.exit_code == errors.CONFLICT == 6
    assert "left the stream" in documents(refused)[0]["message"]
    assert shopctl(server_stack, "redrive", "--json").exit_code == 0  # every stream: it is left alone
    assert "OrderIntakePolicy" in shopctl(server_stack, "parked").output


def test_parked_and_redrive_have_help_and_json() -> None:
    for subcommand in ("parked", "redrive"):
        result = runner.invoke(app, [subcommand, "--help"])
        assert result.exit_code == 0
        for option in ("--json", "--endpoint-url", "--stack-name", "--consumer", "--stream"):
            assert option in result.output, (subcommand, option)
