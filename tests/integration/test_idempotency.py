"""``Idempotency-Key`` on every command route, through the real handlers and the emulated authorizer.

The first answer to a key is kept (Powertools Idempotency, ``IdempotencyTable`` on moto); a retry
with the same key and body gets it back, every header included, with ``Idempotent-Replayed: true``,
and appends nothing. A run that died after appending (its answer never stored) is answered from
the commit it left. Refusals are not kept; keys are scoped to route and caller.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.aws import calls
from local.aws.apigw import HttpResponse
from shop.http import idempotency, problems
from tests.integration.test_catalog_bad_input import assert_problem

STORES = ("CatalogEventStore", "CartEventStore", "OrderEventStore")
KEY = "8e03978e-40d5-43e8-bc93-6894a57f9324"


def commits(stack: Any) -> dict[str, int]:
    return {t: len(stack.clients.dynamodb.scan(TableName=stack.physical[t])["Items"]) for t in STORES}


def records(stack: Any) -> list[dict[str, Any]]:
    return list(stack.clients.dynamodb.scan(TableName=stack.physical["IdempotencyTable"])["Items"])


def keyed(key: str = KEY, **more: str) -> dict[str, str]:
    return {"Idempotency-Key": key, **more}


def product_body(sku: str = "CUP") -> dict[str, Any]:
    return {"sku": sku, "name": "Cup", "category": "kitchen", "price": {"amount": 500, "currency": "EUR"}}


@pytest.fixture
def shop(stack: Any) -> dict[str, str]:
    """A stocked product, alice's open cart with it, and alice's confirmed order."""
    cup = stack.command("POST", "/products", product_body()).json()["productId"]
    assert stack.command("POST", f"/products/{cup}/stock", {"quantity": 10}).status == 200
    stack.pump()

    def cart() -> str:
        cart_id = str(stack.command("POST", "/carts", {}, as_user="alice").json()["cartId"])
        line = {"productId": cup, "quantity": 1}
        assert stack.command("POST", f"/carts/{cart_id}/items", line, as_user="alice").status == 200
        return cart_id

    ordered = cart()
    order = stack.command("POST", f"/carts/{ordered}/checkout", as_user="alice").json()["orderId"]
    open_cart = cart()
    stack.pump()
    assert stack.query("GET", f"/orders/{order}", as_user="alice").json()["status"] == "CONFIRMED"
    return {"cup": cup, "cart": open_cart, "order": order}


#: Every command route: (method, path, body, as_user, success status).
COMMANDS = [
    ("POST", "/products", product_body("NEW"), "admin", 201),
    ("PATCH", "/products/{cup}", {"name": "Renamed"}, "admin", 200),
    ("PUT", "/products/{cup}/price", {"amount": 700, "currency": "EUR"}, "admin", 200),
    ("POST", "/products/{cup}/discontinue", None, "admin", 200),
    ("POST", "/products/{cup}/stock", {"quantity": 5}, "admin", 200),
    ("POST", "/carts", {}, "alice", 201),
    ("POST", "/carts/{cart}/items", {"productId": "{cup}", "quantity": 2}, "alice", 200),
    ("PUT", "/carts/{cart}/items/{cup}", {"quantity": 3}, "alice", 200),
    ("DELETE", "/carts/{cart}/items/{cup}", None, "alice", 200),
    ("POST", "/carts/{cart}/checkout", None, "alice", 202),
    ("POST", "/orders/{order}/cancel", None, "alice", 200),
]


def filled(value: Any, shop: dict[str, str]) -> Any:
    return json.loads(json.dumps(value).replace("{cup}", shop["cup"])) if value is not None else None


def test_every_command_route_is_covered(template: Any) -> None:
    routes = {(r.method, r.path) for r in template.routes_of("CommandApi") if r.path != "$default"}
    names = {"cup": "{productId}", "cart": "{cartId}", "order": "{orderId}"}
    assert {(method, path.format(**names)) for method, path, *_ in COMMANDS} == routes


@pytest.mark.parametrize(("method", "path", "body", "user", "status"), COMMANDS)
def test_a_retry_with_the_same_key_gets_the_first_answer_and_appends_nothing(
    stack: Any, shop: dict[str, str], method: str, path: str, body: Any, user: str, status: int
) -> None:
    path, body = path.format(**shop), filled(body, shop)
    first = stack.command(method, path, body, keyed(), as_user=user)
    assert first.status == status, first.body
    assert "Idempotent-Replayed" not in first.headers
    after_first = commits(stack)

    again = stack.command(method, path, body, keyed(), as_user=user)

    assert again.status == first.status
    assert again.body == first.body
    assert again.headers == {**first.headers, "Idempotent-Replayed": "true"}  # ETag, Location, all
    assert commits(stack) == after_first


def test_the_same_body_spelled_differently_is_the_same_request(stack: Any, shop: dict[str, str]) -> None:
    path = f"/products/{shop['cup']}/price"
    first = stack.command("PUT", path, b'{"amount": 700, "currency": "EUR"}', keyed())
    again = stack.command("PUT", path, b'{"currency":"EUR","amount":700}', keyed())
    assert (first.status, again.status, again.headers["Idempotent-Replayed"]) == (200, 200, "true")


def test_the_same_key_with_another_body_is_a_422_and_appends_nothing(
    stack: Any, shop: dict[str, str]
) -> None:
    path = f"/products/{shop['cup']}/stock"
    assert stack.command("POST", path, {"quantity": 5}, keyed()).status == 200
    before = commits(stack)

    other = stack.command("POST", path, {"quantity": 6}, keyed())

    problem = assert_problem(other, 422, "idempotency-key-reused")
    assert "another request body" in problem["detail"]
    # A 422 names what is wrong, field by field (spec §4 "Errors"; the fuzzer holds every 422 to it).
    assert problem["errors"] == [
        {"field": "Idempotency-Key", "message": "was used with another request body"}
    ]
    assert commits(stack) == before


@pytest.mark.parametrize(
    "key",
    ["", " ", " padded", "padded ", "x" * 256, "caf\u00e9", "tab\there", "bell\x07", "del\x7f"],
    ids=["empty", "space", "leading-space", "trailing-space", "256", "non-ascii", "tab", "bel", "del"],
)
def test_a_key_that_is_not_1_to_255_printable_ascii_characters_is_a_400(
    stack: Any, shop: dict[str, str], key: str
) -> None:
    before = commits(stack)
    with calls.collecting() as made:
        answer = stack.command("POST", f"/products/{shop['cup']}/stock", {"quantity": 5}, keyed(key))
    assert_problem(answer, 400, "bad-idempotency-key")
    assert commits(stack) == before
    assert not [c for c in made.calls() if c.params.get("TableName") == stack.physical["IdempotencyTable"]]


@pytest.mark.parametrize("key", ["x", "y" * 255, "a b", "~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}"])
def test_keys_of_1_to_255_printable_characters_are_accepted(
    stack: Any, shop: dict[str, str], key: str
) -> None:
    path = f"/products/{shop['cup']}/stock"
    assert stack.command("POST", path, {"quantity": 5}, keyed(key)).status == 200
    assert stack.command("POST", path, {"quantity": 5}, keyed(key)).headers["Idempotent-Replayed"] == "true"


def test_two_callers_with_one_key_never_share_an_answer(stack: Any) -> None:
    alices = stack.command("POST", "/carts", {}, keyed(), as_user="alice")
    bobs = stack.command("POST", "/carts", {}, keyed(), as_user="bob")

    assert (alices.status, bobs.status) == (201, 201)
    assert "Idempotent-Replayed" not in bobs.headers
    assert alices.json()["cartId"] != bobs.json()["cartId"]
    assert bobs.headers["Location"] == f"/carts/{bobs.json()['cartId']}"
    assert commits(stack)["CartEventStore"] == 2
    assert len(records(stack)) == 2


def test_one_key_on_two_routes_is_two_requests(stack: Any) -> None:
    first = stack.command("POST", "/products", product_body("ONE")).json()["productId"]
    second = stack.command("POST", "/products", product_body("TWO")).json()["productId"]

    answers = [
        stack.command("POST", f"/products/{p}/stock", {"quantity": 1}, keyed()) for p in (first, second)
    ]

    assert [a.status for a in answers] == [200, 200]
    assert not any("Idempotent-Replayed" in a.headers for a in answers)
    assert [a.json()["productId"] for a in answers] == [first, second]


def test_a_refusal_is_not_kept_so_a_retry_runs_the_command(stack: Any) -> None:
    from shop.catalog.domain import Product  # noqa: PLC0415

    path = f"/products/{Product.id_for_sku('LATE')}/stock"  # a product not created yet
    assert_problem(stack.command("POST", path, {"quantity": 2}, keyed()), 404, "not-found")
    assert records(stack) == []  # the in-progress record was deleted
    assert stack.command("POST", "/products", product_body("LATE")).status == 201

    retried = stack.command("POST", path, {"quantity": 2}, keyed())

    assert retried.status == 200
    assert "Idempotent-Replayed" not in retried.headers
    assert retried.json()["stockVersion"] == 1


def test_a_server_error_is_not_kept_either(
    stack: Any, shop: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from shop.catalog import wiring  # noqa: PLC0415

    service = wiring.catalog_commands()
    real = service.receive_stock

    def boom(*_: Any, **__: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(service, "receive_stock", boom)
    path = f"/products/{shop['cup']}/stock"
    assert_problem(stack.command("POST", path, {"quantity": 5}, keyed()), 500, "internal-error")
    assert records(stack) == []
    monkeypatch.setattr(service, "receive_stock", real)
    before = commits(stack)["CatalogEventStore"]

    retried = stack.command("POST", path, {"quantity": 5}, keyed())

    assert retried.status == 200
    assert "Idempotent-Replayed" not in retried.headers
    assert commits(stack)["CatalogEventStore"] == before + 1


def test_a_request_still_in_progress_is_a_409_with_retry_after(
    stack: Any, shop: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same keyed request arrives while the first one is running (sent from inside it)."""
    from shop.catalog import wiring  # noqa: PLC0415

    service = wiring.catalog_commands()
    real = service.receive_stock
    path = f"/products/{shop['cup']}/stock"
    meanwhile: list[HttpResponse] = []

    def slow(*args: Any, **kwargs: Any) -> Any:
        if not meanwhile:
            meanwhile.append(stack.command("POST", path, {"quantity": 5}, keyed()))
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "receive_stock", slow)
    before = commits(stack)

    first = stack.command("POST", path, {"quantity": 5}, keyed())

    [second] = meanwhile
    assert_problem(second, 409, "idempotency-key-in-progress")
    assert second.headers["Retry-After"] == str(idempotency.RETRY_AFTER_SECONDS)
    assert first.status == 200
    assert commits(stack)["CatalogEventStore"] == before["CatalogEventStore"] + 1
    assert stack.command("POST", path, {"quantity": 5}, keyed()).headers["Idempotent-Replayed"] == "true"


def test_a_first_request_whose_record_put_the_sdk_sent_twice_is_not_a_409(
    stack: Any, shop: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ``PutItem`` of the in-progress record is written, but its answer is lost (a read timeout:
    1.5 s under load, ``shop.dependencies``), so botocore's standard mode sends it again, and the
    resend's condition meets the record the first one wrote. Found by a break-it run on the local
    stack (load 15): keyed commands sent once were answered 409 idempotency-key-in-progress, and
    every retry too until the record's in-progress expiry. The request is the only one with its key:
    it must run (once), not be told to wait for itself."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer  # noqa: PLC0415

    real = DynamoDBPersistenceLayer._put_record

    def answer_lost_then_resent(self: Any, data_record: Any) -> None:
        real(self, data_record)  # DynamoDB wrote it; the answer never came back
        real(self, data_record)  # the SDK's retry of the same request

    monkeypatch.setattr(DynamoDBPersistenceLayer, "_put_record", answer_lost_then_resent)
    path = f"/products/{shop['cup']}/stock"
    before = commits(stack)

    answer = stack.command("POST", path, {"quantity": 5}, keyed())

    assert answer.status == 200, answer.body
    assert commits(stack)["CatalogEventStore"] == before["CatalogEventStore"] + 1


def test_the_calls_each_case_makes(stack: Any, shop: dict[str, str]) -> None:
    """What docs/idempotency.md prices: no key, a new key, a replay, a refusal."""
    records_table = stack.physical["IdempotencyTable"]
    stock = f"/products/{shop['cup']}/stock"

    def made(method: str, path: str, body: Any, headers: dict[str, str]) -> tuple[list[str], list[str]]:
        with calls.collecting() as recorded:
            stack.command(method, path, body, headers)
        ops = [(c.params.get("TableName"), c.operation) for c in recorded.calls() if c.service == "dynamodb"]
        return [op for table, op in ops if table == records_table], [
            op for table, op in ops if table != records_table
        ]

    # the stock's load, the product's (its snapshot, then its events), the transaction
    command = ["Query", "GetItem", "Query", "TransactWriteItems"]
    assert made("POST", stock, {"quantity": 1}, {}) == ([], command)
    assert made("POST", stock, {"quantity": 1}, keyed()) == (
        ["PutItem", "UpdateItem"],  # in progress, then done: the two writes per new key
        command,
    )
    assert made("POST", stock, {"quantity": 1}, keyed()) == (["PutItem"], [])  # a replay runs nothing
    assert made("POST", stock, {"quantity": 2}, keyed()) == (["PutItem"], [])  # 422
    unknown = "/products/9b2f7c1e-3d4a-4e5f-8a6b-7c8d9e0f1a2b/stock"
    assert made("POST", unknown, {"quantity": 1}, keyed())[0] == ["PutItem", "DeleteItem"]  # a 404


def test_the_commit_of_a_keyed_command_carries_the_digest_of_its_key(
    stack: Any, shop: dict[str, str]
) -> None:
    path = f"/products/{shop['cup']}/stock"
    stack.command("POST", path, {"quantity": 1})
    stack.command("POST", path, {"quantity": 1}, keyed())
    stock = stack.clients.dynamodb.query(
        TableName=stack.physical["CatalogEventStore"],
        KeyConditionExpression="streamId = :s",
        ExpressionAttributeValues={":s": {"S": f"stock-{shop['cup']}"}},
    )["Items"]
    admin = stack.sub("admin")
    assert [c.get("requestKey") for c in stock[-2:]] == [
        None,
        {"S": idempotency.scope("POST", path, admin, KEY)},
    ]


def test_a_record_is_one_item_under_1_kb_that_expires_in_24_hours(stack: Any, shop: dict[str, str]) -> None:
    from bench.capacity import item_size  # noqa: PLC0415

    created = stack.command("POST", "/products", product_body("SIZED"), keyed())
    assert created.status == 201
    [record] = records(stack)

    assert record["status"] == {"S": "COMPLETED"}
    assert record["id"]["S"].startswith("command#")
    stored = json.loads(record["data"]["S"])
    assert stored["headers"]["Location"] == created.headers["Location"]
    assert item_size(record) < 1024  # 1 WCU to put, 1 WCU to complete, 1 RCU to read
    lifetime = int(record["expiration"]["N"]) - int(record["in_progress_expiration"]["N"]) // 1000
    assert idempotency.EXPIRES_AFTER_SECONDS - 60 <= lifetime <= idempotency.EXPIRES_AFTER_SECONDS


def test_when_the_idempotency_table_fails_before_the_command_runs_it_is_a_503_and_nothing_runs(
    stack: Any, shop: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer  # noqa: PLC0415

    def unreachable(*_: Any, **__: Any) -> None:
        raise ConnectionError("the table does not answer")

    monkeypatch.setattr(DynamoDBPersistenceLayer, "_put_record", unreachable)
    before = commits(stack)

    answer = stack.command("POST", f"/products/{shop['cup']}/stock", {"quantity": 5}, keyed())

    assert_problem(answer, 503, "dependency-unavailable")  # as for any table that does not answer
    assert answer.headers["Retry-After"] == str(problems.DEPENDENCY_UNAVAILABLE_RETRY_AFTER_SECONDS)
    assert commits(stack) == before


def test_when_it_fails_after_the_command_ran_the_answer_is_the_commands_own(
    stack: Any, shop: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its record stays in progress; once this invocation's deadline has passed, a retry is
    answered from the commit."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer  # noqa: PLC0415

    def unreachable(*_: Any, **__: Any) -> None:
        raise ConnectionError("the table does not answer")

    path = f"/products/{shop['cup']}/stock"
    with monkeypatch.context() as patch:
        patch.setattr(DynamoDBPersistenceLayer, "_update_record", unreachable)
        first = stack.command("POST", path, {"quantity": 5}, keyed())
    assert first.status == 200
    after = commits(stack)

    lambda_deadline_passes(stack)
    retried = stack.command("POST", path, {"quantity": 5}, keyed())

    assert (retried.status, retried.body) == (200, first.body)
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert commits(stack) == after


# ------------------------------------------------------------ a first run that died after appending
class Killed(BaseException):
    """What Lambda does at its timeout: the invocation stops where it is, no cleanup runs."""


def die(*_: Any, **__: Any) -> None:
    raise Killed


def lambda_deadline_passes(stack: Any) -> None:
    """Time passes beyond the dead invocation's deadline (its in-progress expiry)."""
    table = stack.physical["IdempotencyTable"]
    for record in records(stack):
        if record["status"]["S"] == "INPROGRESS":
            stack.clients.dynamodb.update_item(
                TableName=table,
                Key={"id": record["id"]},
                UpdateExpression="SET in_progress_expiration = :past",
                ExpressionAttributeValues={":past": {"N": "1"}},
            )


def send(stack: Any, method: str, path: str, body: Any, user: str) -> HttpResponse:
    response: HttpResponse = stack.command(method, path, body, keyed(), as_user=user)
    return response


@pytest.mark.parametrize(
    ("method", "path", "body", "user", "status"),
    [
        c
        for c in COMMANDS
        if c[1] in {"/products", "/products/{cup}/stock", "/carts", "/carts/{cart}/checkout"}
    ],
)
def test_a_retry_of_a_run_that_died_after_appending_is_answered_from_its_commit(
    stack: Any, shop: dict[str, str], method: str, path: str, body: Any, user: str, status: int
) -> None:
    """Item 7: the function timed out after storing its events; the client, who got a 5xx, retries."""
    path, body = path.format(**shop), filled(body, shop)
    before = commits(stack)
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer  # noqa: PLC0415

    with pytest.MonkeyPatch.context() as patch:  # dies between its append and completing its record
        patch.setattr(DynamoDBPersistenceLayer, "_update_record", die)
        with pytest.raises(Killed):
            send(stack, method, path, body, user)
    appended = commits(stack)
    assert sum(appended.values()) == sum(before.values()) + 1  # its events are stored

    in_progress = send(stack, method, path, body, user)  # still within the dead run's deadline
    assert_problem(in_progress, 409, "idempotency-key-in-progress")

    lambda_deadline_passes(stack)
    retried = send(stack, method, path, body, user)

    assert retried.status == status, retried.body
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert commits(stack) == appended  # nothing appended twice
    replayed = retried.json()
    assert replayed == send(stack, method, path, body, user).json()  # and now kept
    if path == "/carts":
        assert retried.headers["Location"] == f"/carts/{replayed['cartId']}"
        assert stack.command("POST", "/carts", {}, as_user=user).json()["cartId"] != replayed["cartId"]
    if path.endswith("/stock"):
        stack.pump()
        product = stack.query("GET", path.removesuffix("/stock")).json()
        assert (product["stockVersion"], product["available"]) == (replayed["stockVersion"], 10 - 1 + 5)
    if path.endswith("/checkout"):
        stack.pump()
        order = stack.query("GET", f"/orders/{replayed['orderId']}", as_user=user)
        assert order.json()["cartId"] == shop["cart"]


# ------------------------------------------------------------ after the key's 24 hours
def a_day_passes(stack: Any) -> None:
    """The key's lifetime passes: every record is past its expiry (Powertools treats it as absent,
    as DynamoDB's TTL may take days to delete it) and every commit is 25 hours old."""
    from datetime import UTC, datetime, timedelta  # noqa: PLC0415

    past = int((datetime.now(UTC) - timedelta(seconds=1)).timestamp())
    for record in records(stack):
        stack.clients.dynamodb.update_item(
            TableName=stack.physical["IdempotencyTable"],
            Key={"id": record["id"]},
            UpdateExpression="SET expiration = :past",
            ExpressionAttributeValues={":past": {"N": str(past)}},
        )
    for store in STORES:
        for item in stack.clients.dynamodb.scan(TableName=stack.physical[store])["Items"]:
            events = json.loads(item["events"]["S"])
            for event in events:
                moment = datetime.fromisoformat(event["occurredAt"]) - timedelta(hours=25)
                event["occurredAt"] = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            stack.clients.dynamodb.put_item(  # a MODIFY record, which stream consumers skip
                TableName=stack.physical[store], Item={**item, "events": {"S": json.dumps(events)}}
            )


def test_after_24_hours_the_same_key_is_a_new_request(stack: Any, shop: dict[str, str]) -> None:
    """docs/idempotency.md: "The same key after 24 hours: a new request". The commit a keyed request
    left answers a second run of it within the key's lifetime only, not a reuse of the key a day on."""
    path = f"/products/{shop['cup']}/stock"
    first = stack.command("POST", path, {"quantity": 5}, keyed())
    cart = stack.command("POST", "/carts", {}, keyed(), as_user="alice")
    assert (first.status, cart.status) == (200, 201)
    a_day_passes(stack)
    before = commits(stack)

    again = stack.command("POST", path, {"quantity": 5}, keyed())
    new_cart = stack.command("POST", "/carts", {}, keyed(), as_user="alice")

    assert (again.status, new_cart.status) == (200, 201), (again.body, new_cart.body)
    assert "Idempotent-Replayed" not in again.headers
    assert "Idempotent-Replayed" not in new_cart.headers
    assert again.json()["stockVersion"] == first.json()["stockVersion"] + 1
    assert new_cart.json()["cartId"] != cart.json()["cartId"]
    assert commits(stack) == {
        **before,
        "CatalogEventStore": before["CatalogEventStore"] + 1,
        "CartEventStore": before["CartEventStore"] + 1,
    }
    # ... and that new request is a request like any other: its retry is its replay
    assert stack.command("POST", "/carts", {}, keyed(), as_user="alice").json() == new_cart.json()


def test_a_run_that_died_after_appending_a_day_after_its_key_was_first_used_is_answered_once(
    stack: Any,
) -> None:
    """A key reused after its lifetime makes a new cart, not the first one's id again; if that run
    dies after appending, its retry finds it (by the same new id), and appends nothing."""
    first = stack.command("POST", "/carts", {}, keyed(), as_user="alice")
    assert first.status == 201
    a_day_passes(stack)
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer  # noqa: PLC0415

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DynamoDBPersistenceLayer, "_update_record", die)
        with pytest.raises(Killed):
            send(stack, "POST", "/carts", {}, "alice")
    appended = commits(stack)
    lambda_deadline_passes(stack)

    retried = send(stack, "POST", "/carts", {}, "alice")

    assert retried.status == 201, retried.body
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert retried.json()["cartId"] != first.json()["cartId"]
    assert commits(stack) == appended
