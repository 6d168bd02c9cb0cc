"""The whole Catalog path in process: Command API handler -> event store (moto) -> moto's
DynamoDB Streams API -> CatalogProjector -> ProductsView -> Query API handler, over HTTP events."""

from __future__ import annotations

from typing import Any

import pytest

from shop.catalog.domain import Product


def create(stack: Any, sku: str, name: str, category: str = "kitchen", cents: int = 1000) -> str:
    response = stack.command(
        "POST",
        "/products",
        {"sku": sku, "name": name, "category": category, "price": {"amount": cents, "currency": "EUR"}},
    )
    assert response.status == 201, response.body
    return str(response.json()["productId"])


def test_a_product_flows_from_command_to_query(stack: Any) -> None:
    created = stack.command(
        "POST",
        "/products",
        {
            "sku": "MUG-1",
            "name": "Mug",
            "description": "Big",
            "category": "kitchen",
            "price": {"amount": 1299, "currency": "EUR"},
        },
    )
    assert created.status == 201
    product_id = created.json()["productId"]
    assert created.json() == {"productId": product_id, "version": 1}
    assert created.headers["Location"] == f"/products/{product_id}"
    assert created.headers["ETag"] == '"1"'
    assert product_id == Product.id_for_sku("MUG-1")

    assert stack.query("GET", f"/products/{product_id}").status == 404  # not projected yet
    stack.pump()
    product = stack.query("GET", f"/products/{product_id}")
    assert product.status == 200
    assert product.json() == {
        "productId": product_id,
        "sku": "MUG-1",
        "name": "Mug",
        "description": "Big",
        "category": "kitchen",
        "price": {"amount": 1299, "currency": "EUR"},
        "status": "ACTIVE",
        "available": 0,
        "inStock": False,
        "version": 1,
        "stockVersion": 0,
    }
    assert product.headers["ETag"] == '"1.0"'

    stocked = stack.command("POST", f"/products/{product_id}/stock", {"quantity": 5})
    assert stocked.status == 200
    assert stocked.json() == {"productId": product_id, "stockVersion": 1}
    assert stocked.headers["ETag"] == '"1"'
    priced = stack.command("PUT", f"/products/{product_id}/price", {"amount": 999, "currency": "EUR"})
    assert priced.json() == {"productId": product_id, "version": 2}
    stack.pump()

    product = stack.query("GET", f"/products/{product_id}")
    assert (product.json()["available"], product.json()["inStock"], product.json()["price"]["amount"]) == (
        5,
        True,
        999,
    )
    assert product.headers["ETag"] == '"2.1"'


def test_listing_is_by_name_within_a_category_and_pages_with_cursors(stack: Any) -> None:
    names = ["delta", "Alpha", "charlie", "Bravo", "echo"]
    for index, name in enumerate(names):
        create(stack, f"K-{index}", name, "kitchen")
    create(stack, "G-1", "garden thing", "garden")
    stack.pump()

    seen, cursor, pages = [], None, 0
    while True:
        path = "/products?category=kitchen&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = stack.query("GET", path)
        assert page.status == 200, page.body
        seen += [item["name"] for item in page.json()["items"]]
        cursor = page.json()["nextCursor"]
        pages += 1
        if cursor is None:
            break
    assert seen == ["Alpha", "Bravo", "charlie", "delta", "echo"]
    assert pages == 3

    everything = stack.query("GET", "/products?limit=100").json()
    assert [item["name"] for item in everything["items"]] == [
        "Alpha",
        "Bravo",
        "charlie",
        "delta",
        "echo",
        "garden thing",
    ]
    assert everything["nextCursor"] is None


def test_an_exact_last_page_has_no_cursor(stack: Any) -> None:
    for index in range(4):
        create(stack, f"P-{index}", f"name {index}")
    stack.pump()
    first = stack.query("GET", "/products?limit=2").json()
    second = stack.query("GET", f"/products?limit=2&cursor={first['nextCursor']}").json()
    assert len(second["items"]) == 2
    assert second["nextCursor"] is None


def test_tampered_or_foreign_cursors_are_refused(stack: Any) -> None:
    for index in range(3):
        create(stack, f"P-{index}", f"name {index}")
    stack.pump()
    cursor = stack.query("GET", "/products?category=kitchen&limit=1").json()["nextCursor"]
    payload, signature = cursor.split(".")
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    forged = ("y" if signature[0] == "x" else "x") + signature[1:]

    for bad in [f"{flipped}.{signature}", f"{payload}.{forged}", "garbage", payload, "a.b.c", "%00", "é.é"]:
        response = stack.query("GET", f"/products?category=kitchen&cursor={bad}")
        assert response.status == 400, (bad, response.body)
        assert response.headers["Content-Type"] == "application/problem+json"
    # A genuine cursor is bound to the query it came from.
    assert stack.query("GET", f"/products?category=garden&cursor={cursor}").status == 400
    assert stack.query("GET", f"/products?cursor={cursor}").status == 400
    assert stack.query("GET", f"/products?category=kitchen&cursor={cursor}").status == 200


def test_renaming_moves_a_product_and_discontinuing_removes_it_from_listings(stack: Any) -> None:
    first = create(stack, "A-1", "Apple")
    create(stack, "B-1", "Banana")
    stack.pump()

    assert (
        stack.command("PATCH", f"/products/{first}", {"name": "Zucchini", "category": "garden"}).status == 200
    )
    stack.pump()
    assert [i["name"] for i in stack.query("GET", "/products").json()["items"]] == ["Banana", "Zucchini"]
    assert [i["name"] for i in stack.query("GET", "/products?category=garden").json()["items"]] == [
        "Zucchini"
    ]
    assert stack.query("GET", "/products?category=kitchen").json()["items"][0]["name"] == "Banana"

    assert stack.command("POST", f"/products/{first}/discontinue").status == 200
    stack.pump()
    assert [i["name"] for i in stack.query("GET", "/products").json()["items"]] == ["Banana"]
    assert stack.query("GET", "/products?category=garden").json()["items"] == []
    product = stack.query("GET", f"/products/{first}").json()
    assert (product["status"], product["version"]) == ("DISCONTINUED", 3)


@pytest.mark.parametrize("twice", [False, True])
def test_projection_is_unchanged_by_redelivering_every_record(stack: Any, twice: bool) -> None:
    product_id = create(stack, "A-1", "Apple")
    stack.command("POST", f"/products/{product_id}/stock", {"quantity": 3})
    stack.pump()
    before = stack.query("GET", f"/products/{product_id}").json()

    records = stack.clients.streams  # re-read the whole stream from the start and deliver it again
    arn = stack.attributes["CatalogEventStore.StreamArn"]
    shard = records.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = records.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    raw = records.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    from local.aws.esm import lambda_record  # noqa: PLC0415

    event = {"Records": [lambda_record(r, arn, "us-east-1") for r in raw] * (2 if twice else 1)}
    assert stack.invoker.invoke("CatalogProjector", event) == {"batchItemFailures": []}
    assert stack.query("GET", f"/products/{product_id}").json() == before
