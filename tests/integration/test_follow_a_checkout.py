"""One checkout followed by its correlation id: from the HTTP request's ``X-Correlation-Id`` to every
projector and policy log line it causes (spec §6: Logger, JSON, correlation id), and its commands
counted as metrics (in process, on mock_aws)."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from local.aws.functions import load_handler
from shop import telemetry


@contextmanager
def json_logs(stack: Any) -> Iterator[list[dict[str, Any]]]:
    """Every function's Powertools log output (INFO and up) while inside, as parsed JSON lines."""
    for function in stack.template.functions.values():  # their loggers exist before we redirect them
        load_handler(function)
    buffer = io.StringIO()
    restore: list[tuple[logging.Logger, int, list[tuple[logging.StreamHandler[Any], Any]]]] = []
    for logger in list(logging.root.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and getattr(logger, "init", False):  # Powertools'
            streams = [
                (h, h.setStream(buffer)) for h in logger.handlers if isinstance(h, logging.StreamHandler)
            ]
            restore.append((logger, logger.level, streams))
            logger.setLevel(logging.INFO)
    lines: list[dict[str, Any]] = []
    try:
        yield lines
    finally:
        for logger, level, streams in restore:
            logger.setLevel(level)
            for handler, stream in streams:
                handler.setStream(stream)
        lines.extend(json.loads(line) for line in buffer.getvalue().splitlines() if line.startswith("{"))


def open_cart_with_a_cup(stack: Any) -> str:
    product = stack.command(
        "POST",
        "/products",
        {"sku": "CUP", "name": "Cup", "category": "kitchen", "price": {"amount": 500, "currency": "EUR"}},
    ).json()["productId"]
    assert stack.command("POST", f"/products/{product}/stock", {"quantity": 5}).status == 200
    stack.pump()
    cart = str(stack.command("POST", "/carts", {"customerId": "alice"}).json()["cartId"])
    assert stack.command("POST", f"/carts/{cart}/items", {"productId": product, "quantity": 2}).status == 200
    stack.pump()
    return cart


def test_a_checkouts_correlation_id_is_on_every_projector_and_policy_line_it_causes(stack: Any) -> None:
    cart = open_cart_with_a_cup(stack)
    correlation = f"checkout-{uuid.uuid4()}"

    with json_logs(stack) as lines:
        checkout = stack.command("POST", f"/carts/{cart}/checkout", headers={"X-Correlation-Id": correlation})
        assert checkout.status == 202
        stack.pump()
    order = checkout.json()["orderId"]
    assert stack.query("GET", f"/orders/{order}").json()["status"] == "CONFIRMED"

    ours = [line for line in lines if line.get("correlation_id") == correlation]
    seen = {(line["function_name"], line["message"], line.get("event_type")) for line in ours}
    assert seen >= {
        ("CartCommands", "request", None),
        ("CartProjector", "event projected", "CartCheckedOut"),
        ("OrderIntakePolicy", "event handled", "CartCheckedOut"),
        ("OrderProjector", "event projected", "OrderPlaced"),
        ("StockReservationPolicy", "event handled", "OrderPlaced"),
        ("OrderFulfilmentPolicy", "event handled", "StockReservationConfirmed"),
        ("OrderProjector", "event projected", "OrderConfirmed"),
    }, sorted(seen)
    for line in ours:
        if line["message"] in {"event projected", "event handled"}:
            assert line["level"] == "INFO"
            assert line["consumer"] == line["function_name"]
            assert line["stream_id"].startswith(("cart-", "order-", "stock-", "reservation-")), line
            assert isinstance(line["version"], int)
    # the keys are removed once a record is handled: the batch's own line carries none of them
    for line in lines:
        if line["message"] == "batch handled":
            assert not set(line) & {"correlation_id", "stream_id", "version", "event_type"}, line


def emf(output: str) -> list[dict[str, Any]]:
    documents = [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]
    return [d for d in documents if "_aws" in d]


def counted(documents: list[dict[str, Any]], name: str) -> float:
    total = 0.0
    for document in documents:
        value = document.get(name)
        if value is not None:
            total += sum(value) if isinstance(value, list) else value
    return total


def test_commands_are_counted_by_outcome_and_projection_lag_per_projector(
    stack: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cart = open_cart_with_a_cup(stack)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    telemetry.reset()
    capsys.readouterr()

    assert stack.command("POST", f"/carts/{cart}/items", {"productId": "nope", "quantity": 1}).status == 422
    keyed = {"Idempotency-Key": "checkout-1"}
    assert stack.command("POST", f"/carts/{cart}/checkout", headers=keyed).status == 202
    assert (
        stack.command("POST", f"/carts/{cart}/checkout", headers=keyed).headers["Idempotent-Replayed"]
        == "true"
    )
    stack.pump()
    telemetry.reset()

    documents = emf(capsys.readouterr().out)
    assert counted(documents, "CommandRejected") == 1
    assert counted(documents, "CommandAccepted") == 2  # the replay is an accepted answer too
    assert counted(documents, "IdempotentReplay") == 1
    assert counted(documents, "CommandFailed") == 0
    lags = {d["consumer"] for d in documents if "ProjectionLag" in d}
    assert lags >= {"CartProjector", "OrderProjector", "CatalogProjector"}
    for document in documents:
        [directive] = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Shop"
        assert directive["Dimensions"] in ([["service"]], [["service", "consumer"]])
