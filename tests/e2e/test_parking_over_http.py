"""Parking and redrive on the running local stack (``python -m local``), with ``shopctl`` as an
operator runs it (the console script, against the endpoint).

The poison is a crafted commit, written straight into CatalogEventStore as a broken writer (or a
bad restore) would: version 2 of a product stream whose version 1 is missing. CatalogProjector
cannot project it (``GapNotFilled``: the store does not hold what comes before), so its event
source mapping retries it, gives up, sends the on-failure record to CatalogProjectorDLQ, and
CatalogProjector's ParkFailures event parks it. No test hook in the code: the fix is data too (the
missing event is written), after which ``shopctl redrive`` brings the product in, in order.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Callable
from typing import Any

import boto3

from local import ROOT
from local.stack.client import call, eventually
from local.stack.process import StackProcess
from shop.catalog.events import ProductCreated, ProductPriceChanged
from shop.domain.money import Money
from shop.eventstore.codec import encode_commit
from shop.eventstore.model import EventMetadata, NewEvent
from shopctl import errors
from tests.support.replay import check, read_snapshot

SHOPCTL = ROOT / ".venv" / "bin" / "shopctl"
#: Who wrote the crafted commits: a request id as cause, an operator as actor (replay: causation).
CRAFTED = EventMetadata("crafted-correlation", "crafted-request", "an-operator")


def shopctl(stack: StackProcess, *arguments: str) -> tuple[int, list[Any]]:
    """The console script's exit code and the JSON documents it printed."""
    done = subprocess.run(
        [str(SHOPCTL), *arguments, "--endpoint-url", stack.endpoint, "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    decoder, text, documents = json.JSONDecoder(), done.stdout.strip(), []
    while text:
        document, end = decoder.raw_decode(text)
        documents.append(document)
        text = text[end:].strip()
    assert documents, done.stderr
    return done.returncode, documents


def write(stack: StackProcess, stream_id: str, version: int, event: Any) -> None:
    """A commit straight into CatalogEventStore, bypassing the Command API (and its rules)."""
    item = encode_commit(stream_id, version - 1, [NewEvent(type(event).__name__, event.to_data())], CRAFTED)
    boto3.client("dynamodb", endpoint_url=stack.endpoint).put_item(TableName="CatalogEventStore", Item=item)


def price(cents: int, before: int) -> ProductPriceChanged:
    return ProductPriceChanged(
        price=Money(amount=cents, currency="EUR"), previous_price=Money(amount=before, currency="EUR")
    )


def parked_versions(stack: StackProcess, stream_id: str) -> Callable[[], list[int] | None]:
    def read() -> list[int] | None:
        code, [answer] = shopctl(stack, "parked", "--stream", stream_id)
        assert code == 0, answer
        return [r["version"] for r in answer["parked"][0]["records"]] if answer["parked"] else None

    return read


def test_a_poison_commit_is_parked_later_ones_wait_behind_it_and_a_redrive_after_the_fix_brings_them_in(
    local_stack: StackProcess,
) -> None:
    admin = local_stack.tokens["admin"]
    body = {
        "sku": f"FINE-{uuid.uuid4().hex[:8]}",
        "name": "Fine",
        "category": "parking",
        "price": {"amount": 300, "currency": "EUR"},
    }
    fine = call("POST", f"{local_stack.command}/products", body, token=admin, timeout=120).json()["productId"]
    poisoned = str(uuid.uuid4())
    stream_id = f"product-{poisoned}"

    write(local_stack, stream_id, 2, price(150, 100))  # version 1 is missing
    assert eventually(lambda: parked_versions(local_stack, stream_id)() == [2], timeout=120, interval=0.5)

    code, [answer] = shopctl(local_stack, "parked", "--stream", stream_id)
    [entry] = answer["parked"]
    assert (entry["consumer"], entry["condition"], entry["failedVersion"]) == (
        "CatalogProjector",
        "RetryAttemptsExhausted",
        2,
    )
    assert entry["error"].startswith("GapNotFilled: ")

    # Later commits of the poisoned stream wait behind it; another product keeps flowing.
    write(local_stack, stream_id, 3, price(175, 150))
    repriced = call(
        "PUT", f"{local_stack.command}/products/{fine}/price", {"amount": 350, "currency": "EUR"}, token=admin
    )
    assert repriced.status == 200, repriced.body
    assert eventually(lambda: parked_versions(local_stack, stream_id)() == [2, 3], timeout=60, interval=0.5)
    assert eventually(
        lambda: (
            call("GET", f"{local_stack.query}/products/{fine}").json().get("price", {}).get("amount") == 350
        ),
        timeout=60,
    )
    assert call("GET", f"{local_stack.query}/products/{poisoned}").status == 404

    # Redriven before the fix: stops at the poison, keeps everything.
    code, [stopped, error] = shopctl(local_stack, "redrive", "--stream", stream_id)
    assert code == errors.FAILED
    assert error["error"] == "failed"
    [outcome] = stopped["redriven"]
    assert (outcome["delivered"], outcome["remaining"], outcome["released"]) == (0, 2, False)
    assert outcome["stopped"]["version"] == 2
    assert outcome["stopped"]["error"].startswith("GapNotFilled: ")

    # The fix: the missing event is written. Its record, too, waits behind the parked stream.
    created = ProductCreated(
        product_id=poisoned,
        sku=f"POISON-{poisoned[:8]}",
        name="Was missing",
        description="",
        category="parking",
        price=Money(amount=100, currency="EUR"),
    )
    write(local_stack, stream_id, 1, created)
    assert eventually(
        lambda: parked_versions(local_stack, stream_id)() == [1, 2, 3], timeout=60, interval=0.5
    )

    code, [done] = shopctl(local_stack, "redrive", "--stream", stream_id)
    assert code == 0, done
    assert [(o["streamId"], o["delivered"], o["released"]) for o in done["redriven"]] == [
        (stream_id, 3, True)
    ]
    assert parked_versions(local_stack, stream_id)() is None
    shown = call("GET", f"{local_stack.query}/products/{poisoned}").json()
    assert (shown["name"], shown["price"]["amount"], shown["version"]) == ("Was missing", 175, 3)
    report = check(read_snapshot(boto3.client("dynamodb", endpoint_url=local_stack.endpoint))).only(
        {poisoned, fine}
    )
    assert report.ok, report.summary()

    # Released: the stream's next event is applied as usual.
    again = call(
        "PUT",
        f"{local_stack.command}/products/{poisoned}/price",
        {"amount": 180, "currency": "EUR"},
        token=admin,
    )
    assert again.status == 200, again.body
    assert eventually(
        lambda: call("GET", f"{local_stack.query}/products/{poisoned}").json().get("version") == 4, timeout=60
    )
    assert parked_versions(local_stack, stream_id)() is None
