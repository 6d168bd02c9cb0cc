"""``Idempotency-Key`` over real HTTP against the local stack (``python -m local``): worker processes,
the moto server's ``IdempotencyTable``, tokens from its Cognito pool."""

from __future__ import annotations

import http.client
import json
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3

from local.aws.apigw import HttpResponse
from local.stack.client import call, eventually
from local.stack.process import StackProcess

#: Headers a replay must repeat exactly (the HTTP server adds its own Date, Server, Content-Length).
ANSWER_HEADERS = ("Content-Type", "ETag", "Location")


def new_key() -> str:
    return str(uuid.uuid4())


def product(sku: str | None = None) -> dict[str, Any]:
    return {
        "sku": sku or f"IDEM-{uuid.uuid4().hex[:10]}",
        "name": "Kettle",
        "category": "e2e-idempotency",
        "price": {"amount": 3900, "currency": "EUR"},
    }


def send(
    stack: StackProcess, method: str, path: str, body: Any, key: str, user: str = "admin"
) -> HttpResponse:
    return call(method, f"{stack.command}{path}", body, {"Idempotency-Key": key}, token=stack.tokens[user])


def stream_commits(stack: StackProcess, table: str, stream_id: str) -> list[dict[str, Any]]:
    dynamodb = boto3.client("dynamodb", endpoint_url=stack.endpoint)
    return list(
        dynamodb.query(
            TableName=table,
            KeyConditionExpression="streamId = :s",
            ExpressionAttributeValues={":s": {"S": stream_id}},
            ConsistentRead=True,
        )["Items"]
    )


def send_and_hang_up(stack: StackProcess, path: str, body: Any, key: str) -> None:
    """The request reaches the API; its answer is lost (the client is gone before it comes)."""
    url = urllib.parse.urlsplit(stack.command)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": key,
        "Authorization": f"Bearer {stack.tokens['admin']}",
    }
    connection.request("POST", path, json.dumps(body), headers)
    connection.close()


def same_answer(first: HttpResponse, again: HttpResponse) -> None:
    assert (again.status, again.body) == (first.status, first.body)
    assert {h: again.headers.get(h) for h in ANSWER_HEADERS} == {
        h: first.headers.get(h) for h in ANSWER_HEADERS
    }
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers


def test_a_retry_after_the_first_answer_was_lost_appends_nothing(local_stack: StackProcess) -> None:
    created = send(local_stack, "POST", "/products", product(), new_key())
    assert created.status == 201, created.body
    product_id = created.json()["productId"]
    key, path = new_key(), f"/products/{product_id}/stock"

    send_and_hang_up(local_stack, path, {"quantity": 7}, key)
    eventually(lambda: stream_commits(local_stack, "CatalogEventStore", f"stock-{product_id}"), timeout=30)
    retried = eventually(
        lambda: (r := send(local_stack, "POST", path, {"quantity": 7}, key)).status != 409 and r, timeout=30
    )

    assert retried.status == 200, retried.body
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert retried.json() == {"productId": product_id, "stockVersion": 1}
    assert len(stream_commits(local_stack, "CatalogEventStore", f"stock-{product_id}")) == 1
    eventually(
        lambda: call("GET", f"{local_stack.query}/products/{product_id}").json().get("available") == 7,
        timeout=15,
    )


def test_a_replay_is_the_first_answer_with_its_etag_and_location(local_stack: StackProcess) -> None:
    key, body = new_key(), product()
    first = send(local_stack, "POST", "/products", body, key)
    again = send(local_stack, "POST", "/products", body, key)

    assert first.status == 201, first.body
    assert first.headers["Location"] == f"/products/{first.json()['productId']}"
    assert first.headers["ETag"] == '"1"'
    same_answer(first, again)
    assert len(stream_commits(local_stack, "CatalogEventStore", f"product-{first.json()['productId']}")) == 1


def test_two_concurrent_requests_with_one_key_create_one_product(local_stack: StackProcess) -> None:
    key, body = new_key(), product()
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: send(local_stack, "POST", "/products", body, key), range(4)))

    created = [a for a in answers if a.status == 201 and "Idempotent-Replayed" not in a.headers]
    assert len(created) == 1, [(a.status, a.body) for a in answers]
    for other in answers:
        if other is created[0]:
            continue
        if other.status == 409:  # still in progress, never "duplicate SKU": the key was recognised
            assert other.json()["type"] == "urn:shop:problem:idempotency-key-in-progress"
            assert other.headers["Retry-After"] == "1"
        else:
            same_answer(created[0], other)
    product_id = created[0].json()["productId"]
    assert len(stream_commits(local_stack, "CatalogEventStore", f"product-{product_id}")) == 1
    same_answer(created[0], send(local_stack, "POST", "/products", body, key))


def test_two_concurrent_requests_with_one_key_create_one_cart(local_stack: StackProcess) -> None:
    key = new_key()
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: send(local_stack, "POST", "/carts", {}, key, "alice"), range(4)))

    assert {a.status for a in answers} <= {201, 409}, [(a.status, a.body) for a in answers]
    carts = {a.json()["cartId"] for a in answers if a.status == 201}
    assert len(carts) == 1
    final = eventually(
        lambda: (r := send(local_stack, "POST", "/carts", {}, key, "alice")).status == 201 and r
    )
    assert final.json()["cartId"] in carts
    assert final.headers["Idempotent-Replayed"] == "true"


def test_the_same_key_with_another_body_is_a_422(local_stack: StackProcess) -> None:
    key, body = new_key(), product()
    assert send(local_stack, "POST", "/products", body, key).status == 201
    other = send(local_stack, "POST", "/products", {**body, "name": "Another kettle"}, key)
    assert (other.status, other.headers["Content-Type"]) == (422, "application/problem+json")
    assert other.json()["type"] == "urn:shop:problem:idempotency-key-reused"


def test_a_bad_key_is_a_400(local_stack: StackProcess) -> None:
    for key in ("x" * 256, "tab\tinside", "caf\u00e9".encode().decode("latin-1")):
        answer = send(local_stack, "POST", "/products", product(), key)
        assert (answer.status, answer.headers["Content-Type"]) == (400, "application/problem+json"), key
        assert answer.json()["type"] == "urn:shop:problem:bad-idempotency-key"


def test_different_callers_with_one_key_do_not_collide(local_stack: StackProcess) -> None:
    key = new_key()
    alices = send(local_stack, "POST", "/carts", {}, key, "alice")
    bobs = send(local_stack, "POST", "/carts", {}, key, "bob")

    assert (alices.status, bobs.status) == (201, 201)
    assert "Idempotent-Replayed" not in bobs.headers
    assert alices.json()["cartId"] != bobs.json()["cartId"]
    same_answer(alices, send(local_stack, "POST", "/carts", {}, key, "alice"))
