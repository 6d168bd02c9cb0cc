"""The cost bench on moto (``bench/cost.py``): every route of template.yaml and every stream
subscription has a row, and the rows price what the handlers really do (index writes included).

One run (about half a minute) serves every test here.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench import cost
from local.aws.template import Template


@pytest.fixture(scope="module")
def result() -> cost.Result:
    return cost.run(cost.Workload(lines=1), line_counts=(1,))


def row(result: cost.Result, label: str) -> cost.Row:
    return next(r for r in result.rows if r.label == label)


def step_after(result: cost.Result, label: str, function: str) -> cost.Row:
    """The first step of ``function`` that follows the operation ``label``."""
    start = result.rows.index(row(result, label))
    following = result.rows[start + 1 :]
    steps = following[: next((i for i, r in enumerate(following) if not r.step), None)]
    return next(r for r in steps if r.sample.functions() == [function])


def test_every_route_of_the_template_has_a_row(result: cost.Result) -> None:
    template = Template()
    measured = {r.trigger for r in result.rows if not r.step}

    assert cost.routes(template) - measured == set()
    assert len(cost.routes(template)) == len({(r.api, r.method, r.path) for r in template.routes})


def test_every_stream_subscription_has_a_step_of_its_own(result: cost.Result) -> None:
    subscribed = {s.function for s in Template().subscriptions}
    stepped = {f for r in result.rows if r.step for f in r.sample.functions()}

    assert subscribed - stepped == set()
    assert all(len(r.sample.functions()) == 1 for r in result.rows if r.step)


def test_a_product_read_is_one_eventually_consistent_get(result: cost.Result) -> None:
    read = row(result, "Get a product").sample

    assert [(r.operation, r.table, r.rcu) for r in read.requests] == [("GetItem", "ProductsView", 0.5)]
    assert read.wcu == read.index_wcu == 0
    assert read.http_requests == 1


def test_a_stock_change_of_a_listed_product_also_writes_both_listing_indexes(result: cost.Result) -> None:
    step = step_after(result, "Receive stock again", "CatalogProjector").sample
    [update] = [r for r in step.requests if r.operation == "UpdateItem"]

    assert update.index_wcu == {"ProductsView.ByCategory": 1, "ProductsView.ByName": 1}
    assert step.wcu + step.index_wcu == 3


def test_a_rename_moves_the_row_in_both_indexes_and_discontinuing_removes_it(result: cost.Result) -> None:
    renamed = step_after(result, "Rename a product (listing keys change)", "CatalogProjector").sample
    dropped = step_after(result, "Discontinue a product (leaves the listings)", "CatalogProjector").sample

    assert renamed.index_wcu == 4
    assert dropped.index_wcu == 2


def test_a_keyed_command_adds_two_writes_and_its_replay_one_failed_put(result: cost.Result) -> None:
    plain = row(result, "Create a product").sample
    keyed = row(result, "Create a product with an Idempotency-Key").sample
    replay = row(result, "The same request again (a replay)").sample

    assert keyed.wcu - plain.wcu == 2
    assert [(r.operation, r.table, r.failed, r.wcu) for r in replay.requests] == [
        ("PutItem", "IdempotencyTable", True, 1)
    ]


def test_a_taken_sku_still_pays_for_its_failed_conditional_put(result: cost.Result) -> None:
    taken = row(result, "Create a product whose SKU is taken (409)").sample

    assert [(r.operation, r.failed, r.wcu) for r in taken.requests] == [("PutItem", True, 1)]


def test_the_checkout_pipeline_runs_every_policy_and_its_reservation_is_a_transaction(
    result: cost.Result,
) -> None:
    functions = {
        f
        for r in result.rows[result.rows.index(row(result, "Check out (1 line)")) + 1 :]
        if r.step
        for f in r.sample.functions()
    }
    reservation = step_after(result, "Check out (1 line)", "StockReservationPolicy").sample

    assert {"OrderIntakePolicy", "StockReservationPolicy", "OrderFulfilmentPolicy"} <= functions
    assert reservation.count("dynamodb", "TransactWriteItems") == 1
    assert reservation.wcu == 4  # the stock commit and the reservation commit, doubled


def test_the_signing_secret_is_fetched_once_per_cold_start_by_the_functions_that_sign(
    result: cost.Result,
) -> None:
    assert result.cold["CartCommands"]["GetSecretValue"] == 1
    assert result.cold["CatalogCommands"]["GetSecretValue"] == 1
    assert result.cold["CartProjector"]["GetSecretValue"] == 0


def test_the_report_states_the_workload_the_formula_and_a_total(result: cost.Result) -> None:
    text = cost.report(result, cost.Workload(lines=1))
    bill: list[Any] = cost.monthly(cost.Workload(lines=1), result.measured)

    assert "**Workload**" in text
    assert "**Formula.**" in text
    assert f"**Total: ${sum(line.cost for line in bill):,.2f} a month**" in text
    assert all(line.cost >= 0 for line in bill)


def test_a_price_change_and_a_stock_receipt_of_one_product_reach_its_row_in_one_batch(
    result: cost.Result,
) -> None:
    step = step_after(result, "... receive stock: one batch for one row", "CatalogProjector").sample

    assert len(step.invocations) == 1
    assert step.event_types() == ["ProductPriceChanged", "StockReceived"]
    assert step.count("dynamodb", "GetItem") == 2  # the parked streams, then the row (once)
    assert step.count("dynamodb", "UpdateItem") == 1  # the row's two streams in one write
