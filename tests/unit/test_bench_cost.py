"""The pure parts of the cost bench (``bench/capacity.py``, ``bench/cost.py``): DynamoDB's sizing
rules with index writes, the X-Ray sampling model and the month's formula.

The indexes come from template.yaml, so a change of an index (its keys, its projection) shows here.
"""

from __future__ import annotations

import math

import pytest

from bench.capacity import (
    Index,
    ItemWrite,
    TableSchema,
    index_write_units,
    index_writes,
    item_size,
    query_read_units,
    table_write_units,
)
from bench.cost import (
    PRICES,
    Invocation,
    Measured,
    Request,
    Sample,
    Workload,
    access_log_bytes,
    alarm_metrics,
    monthly,
    pitr_tables,
    traces_recorded,
)
from local.aws.template import Template


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int) -> dict[str, str]:
    return {"N": str(value)}


@pytest.fixture(scope="module")
def template() -> Template:
    return Template()


@pytest.fixture(scope="module")
def products(template: Template) -> TableSchema:
    return TableSchema.from_template("ProductsView", template.tables["ProductsView"])


def active(**changes: dict[str, str]) -> dict[str, dict[str, str]]:
    """A ProductsView row of an active product, as the projector writes it."""
    row = {
        "productId": s("p1"),
        "name": s("Espresso cup"),
        "category": s("kitchen"),
        "status": s("ACTIVE"),
        "activeCategory": s("kitchen"),
        "activeListing": s("ACTIVE"),
        "nameKey": s("espresso cup#p1"),
        "available": n(10),
        "version": n(3),
    }
    return {**row, **changes}


def discontinued() -> dict[str, dict[str, str]]:
    row = active(status=s("DISCONTINUED"))
    del row["activeCategory"], row["activeListing"]
    return row


# ---------------------------------------------------------------- indexes from the template


def test_the_schemas_come_from_the_template(template: Template, products: TableSchema) -> None:
    assert products.keys == ("productId",)
    assert {(i.name, i.keys, i.projection) for i in products.indexes} == {
        ("ByCategory", ("activeCategory", "nameKey"), "ALL"),
        ("ByName", ("activeListing", "nameKey"), "ALL"),
    }
    orders = TableSchema.from_template("OrdersView", template.tables["OrdersView"])
    assert [(i.name, i.keys) for i in orders.indexes] == [("ByCustomer", ("customerId", "placedKey"))]
    assert TableSchema.from_template("CartEventStore", template.tables["CartEventStore"]).indexes == ()


def test_a_new_row_of_an_active_product_is_put_into_both_listing_indexes(products: TableSchema) -> None:
    write = ItemWrite(products, "update", None, active())

    assert index_write_units(write) == {"ByCategory": 1, "ByName": 1}
    assert table_write_units(write) == 1


def test_a_stock_change_of_an_active_product_rewrites_both_indexes(products: TableSchema) -> None:
    write = ItemWrite(products, "update", active(), active(available=n(9), stockVersion=n(2)))

    assert index_write_units(write) == {"ByCategory": 1, "ByName": 1}  # 3 WCU in all, not 1


def test_a_rename_changes_the_index_keys_a_delete_and_a_put_in_each(products: TableSchema) -> None:
    renamed = active(name=s("Tea cup"), nameKey=s("tea cup#p1"))

    assert index_write_units(ItemWrite(products, "update", active(), renamed)) == {
        "ByCategory": 2,
        "ByName": 2,
    }


def test_discontinuing_deletes_from_the_sparse_indexes_and_later_changes_cost_them_nothing(
    products: TableSchema,
) -> None:
    assert index_write_units(ItemWrite(products, "update", active(), discontinued())) == {
        "ByCategory": 1,
        "ByName": 1,
    }
    restocked = {**discontinued(), "available": n(50)}
    assert index_write_units(ItemWrite(products, "update", discontinued(), restocked)) == {}


def test_a_write_that_changes_nothing_the_index_holds_costs_it_nothing(products: TableSchema) -> None:
    assert index_writes(active(), active(), products, products.indexes[0]) == []


def test_a_keys_only_index_ignores_changes_of_other_attributes() -> None:
    table = TableSchema("T", ("id",), (Index("ByX", ("x",), "KEYS_ONLY"),))
    before = {"id": s("1"), "x": s("a"), "payload": s("old")}

    assert index_writes(before, {**before, "payload": s("new")}, table, table.indexes[0]) == []
    assert index_writes(before, {**before, "x": s("b")}, table, table.indexes[0]) == [
        item_size({"id": s("1"), "x": s("a")}),
        item_size({"id": s("1"), "x": s("b")}),
    ]


def test_a_failed_write_pays_for_the_existing_item_and_writes_no_index(products: TableSchema) -> None:
    big = active(description=s("x" * 2500))  # ~2.6 KB
    failed = ItemWrite(products, "update", big, None, failed=True)

    assert table_write_units(failed) == 3
    assert index_write_units(failed) == {}
    assert table_write_units(ItemWrite(products, "put", None, None, failed=True)) == 1


def test_an_update_pays_for_the_larger_of_the_item_before_and_after(products: TableSchema) -> None:
    big = active(description=s("x" * 1500))

    assert table_write_units(ItemWrite(products, "update", big, active())) == 2
    assert table_write_units(ItemWrite(products, "update", active(), big)) == 2


def test_transactions_double_and_a_condition_check_on_an_absent_item_is_a_write() -> None:
    store = TableSchema("CatalogEventStore", ("streamId", "version"))
    commit = {"streamId": s("stock-p1"), "version": n(1), "events": s("x" * 500)}

    assert table_write_units(ItemWrite(store, "put", None, commit, transactional=True)) == 2
    assert table_write_units(ItemWrite(store, "check", None, None, transactional=True)) == 2


def test_a_query_adds_its_items_up_before_rounding_to_4_kb() -> None:
    row = {"id": s("x" * 1000)}

    assert query_read_units([], consistent=False) == 0.5
    assert query_read_units([row] * 4, consistent=False) == 0.5
    assert query_read_units([row] * 5, consistent=True) == 2


# ---------------------------------------------------------------- the month


def test_x_ray_records_the_first_request_each_second_and_5_percent_of_the_rest() -> None:
    assert traces_recorded(43_200) == 43_200  # half a request a second: all of them
    per_second = 1_000_000 / 86_400
    assert traces_recorded(1_000_000) == pytest.approx((1 + 0.05 * (per_second - 1)) * 86_400)


def invocation(function: str, *, http: bool = True, log_bytes: int = 0) -> Invocation:
    return Invocation(function, http, (), 0.0, 0.0, 0.0, log_bytes, 1, first=False)


def measured(view: Sample, listing: Sample, journey: Sample) -> Measured:
    return Measured(
        view=view,
        listing=listing,
        journey=journey,
        billed_ms=lambda _: 10.0,
        memory_gb=lambda _: 1.0,
        secret_functions=frozenset({"CartCommands"}),
        metric_series=4,
        alarm_metrics=3,
        pitr_tables=frozenset({"CartEventStore"}),
        access_log_bytes=300,
    )


def test_the_month_multiplies_each_operation_by_its_daily_count_and_the_days() -> None:
    workload = Workload(product_views=1000, list_share=0.2, checkouts=10, days=30, cold_start_share=0.01)
    view = Sample(
        [Request("CatalogQueries", "dynamodb", "GetItem", 0, rcu=0.5)], [invocation("CatalogQueries")]
    )
    listing = Sample(
        [Request("CatalogQueries", "dynamodb", "Query", 0, rcu=1.0)], [invocation("CatalogQueries")]
    )
    journey = Sample(
        [
            Request(
                "CartCommands",
                "dynamodb",
                "PutItem",
                0,
                wcu=3.0,
                index_wcu={"OrdersView.ByCustomer": 1},
                stored={"CartEventStore": 1000, "CartsView": 500},
            )
        ],
        [invocation("CartCommands"), invocation("CartProjector", http=False)],
    )

    bill = {line.item: line for line in monthly(workload, measured(view, listing, journey))}

    assert bill["DynamoDB reads"].units == 30 * (800 * 0.5 + 200 * 1.0)
    assert bill["DynamoDB writes (tables and indexes)"].units == 30 * 10 * 4
    assert bill["Lambda requests"].units == 30 * (1000 + 10 * 2)
    assert bill["HTTP API requests"].units == 30 * (1000 + 10)
    assert bill["Lambda duration, invocations (modelled)"].units == pytest.approx(30 * 1020 * 0.010)
    assert bill["Secrets Manager GetSecretValue (cold starts)"].units == pytest.approx(30 * 10 * 0.01)
    assert bill["DynamoDB storage added in the month"].units == pytest.approx(30 * 10 * 1500 / 1e9)
    assert bill["Point-in-time recovery of that storage"].units == pytest.approx(30 * 10 * 1000 / 1e9)
    assert bill["CloudWatch custom metrics (EMF)"].units == 4
    assert bill["DynamoDB reads"].cost == pytest.approx(bill["DynamoDB reads"].units / 1e6 * 0.125)


def test_prices_are_the_post_november_2024_on_demand_ones_each_with_a_source() -> None:
    assert PRICES["wru"].of(1e6) == 0.625
    assert PRICES["rru"].of(1e6) == 0.125
    assert all(price.source.startswith("https://aws.amazon.com/") for price in PRICES.values())
    assert PRICES["wru"].label() == "$0.625 per million write request units"
    assert PRICES["lambda_duration"].label() == "$0.0000133334 per GB-s (arm64)"
    assert PRICES["secret"].label() == "$0.40 per secret-month"


def test_template_facts_alarms_point_in_time_recovery_and_access_logs(template: Template) -> None:
    alarms = template.of_type("AWS::CloudWatch::Alarm")
    assert alarm_metrics(template) >= len(alarms)
    assert {"CartEventStore", "CatalogEventStore", "OrderEventStore"} <= pitr_tables(template)
    assert "ProductsView" not in pitr_tables(template)
    assert 200 < access_log_bytes(template) < 400
    assert math.isfinite(float(access_log_bytes(template)))
