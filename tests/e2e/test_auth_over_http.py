"""Sign-in and ownership over real HTTP on the local stack: the tokens ``make run`` prints, tokens
from the Cognito API, and tokens that must not pass (expired, forged, tampered, another pool or app
client) — the emulated JWT authorizer answers those with API Gateway's own 401, before any function.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import boto3
import pytest

from local.aws.apigw import HttpResponse
from local.demo.users import DEMO_PASSWORD
from local.stack.client import call, eventually
from local.stack.process import StackProcess
from tests.support.tokens import access_claims, claims_of, generate, pool_key, tampered

UNKNOWN = "9b2f7c1e-3d4a-4e5f-8a6b-7c8d9e0f1a2b"


def header(reply: HttpResponse, name: str) -> str | None:
    return next((value for key, value in reply.headers.items() if key.lower() == name.lower()), None)


def assert_unauthorized(reply: HttpResponse, description: str | None) -> None:
    """API Gateway's 401: its JSON body, not a problem, and the challenge naming why."""
    assert reply.status == 401, reply.body
    assert reply.json() == {"message": "Unauthorized"}
    assert header(reply, "Content-Type") == "application/json"
    challenge = header(reply, "www-authenticate")
    if description is None:
        assert challenge == "Bearer"
    else:
        assert challenge == f'Bearer scope="" error="invalid_token" error_description="{description}"'


def assert_problem(reply: HttpResponse, status: int, code: str) -> dict[str, Any]:
    assert reply.status == status, reply.body
    assert header(reply, "Content-Type") == "application/problem+json"
    problem: dict[str, Any] = reply.json()
    assert (problem["status"], problem["type"]) == (status, f"urn:shop:problem:{code}")
    return problem


def sub(stack: StackProcess, user: str) -> str:
    return str(claims_of(stack.tokens[user])["sub"])


def issuer(stack: StackProcess) -> str:
    return f"https://cognito-idp.us-east-1.amazonaws.com/{stack.user_pool}"


@pytest.fixture(scope="module")
def product(local_stack: StackProcess) -> str:
    body = {
        "sku": f"AUTH-{uuid.uuid4().hex[:10]}",
        "name": "Kettle",
        "category": f"auth-{uuid.uuid4().hex[:8]}",
        "price": {"amount": 2500, "currency": "EUR"},
    }
    admin = local_stack.tokens["admin"]
    product_id = str(call("POST", f"{local_stack.command}/products", body, token=admin).json()["productId"])
    assert (
        call(
            "POST", f"{local_stack.command}/products/{product_id}/stock", {"quantity": 50}, token=admin
        ).status
        == 200
    )
    eventually(
        lambda: call("GET", f"{local_stack.query}/products/{product_id}").json().get("available") == 50
    )
    return product_id


@pytest.fixture(scope="module")
def bobs(local_stack: StackProcess, product: str) -> dict[str, str]:
    """Bob's open cart and his confirmed order."""
    bob = local_stack.tokens["bob"]

    def cart() -> str:
        cart_id = str(call("POST", f"{local_stack.command}/carts", {}, token=bob).json()["cartId"])
        line = {"productId": product, "quantity": 1}
        assert call("POST", f"{local_stack.command}/carts/{cart_id}/items", line, token=bob).status == 200
        return cart_id

    open_cart, ordered = cart(), cart()
    order = call("POST", f"{local_stack.command}/carts/{ordered}/checkout", token=bob).json()["orderId"]
    eventually(
        lambda: (
            call("GET", f"{local_stack.query}/orders/{order}", token=bob).json().get("status") == "CONFIRMED"
        )
    )
    eventually(lambda: call("GET", f"{local_stack.query}/carts/{open_cart}", token=bob).status == 200)
    return {"cart": open_cart, "order": order}


def test_anyone_may_browse(local_stack: StackProcess, product: str) -> None:
    assert call("GET", f"{local_stack.query}/products").status == 200
    shown = call("GET", f"{local_stack.query}/products/{product}")
    assert (shown.status, shown.json()["name"]) == (200, "Kettle")


@pytest.mark.parametrize(
    ("api", "method", "path", "body"),
    [
        ("command", "POST", "/products", {"sku": "X"}),
        ("command", "POST", "/carts", {}),
        ("command", "POST", f"/orders/{UNKNOWN}/cancel", None),
        ("query", "GET", f"/carts/{UNKNOWN}", None),
        ("query", "GET", "/customers/anyone/orders", None),
    ],
)
def test_without_a_token_api_gateway_answers_401(
    local_stack: StackProcess, api: str, method: str, path: str, body: Any
) -> None:
    base = local_stack.command if api == "command" else local_stack.query
    assert_unauthorized(call(method, f"{base}{path}", body), None)
    assert_unauthorized(call(method, f"{base}{path}", body, {"Authorization": "Bearer "}), None)


def forged(stack: StackProcess, kind: str) -> tuple[str, str]:
    """A token that must not pass, and the reason the authorizer gives."""
    alice = stack.tokens["alice"]
    claims = access_claims(issuer(stack), stack.client_id, sub(stack, "alice"), username="alice")
    if kind == "expired":  # signed with the pool's own key: it was valid, an hour ago
        expired = {**claims, "iat": int(time.time()) - 3700, "exp": int(time.time()) - 100}
        return pool_key().sign(expired), "the token has expired"
    if kind == "another key":
        return generate(kid=pool_key().kid).sign(claims), "the token's signature is invalid"
    if kind == "unknown key":
        return generate(kid="not-the-pools").sign(claims), "the token was not signed by a key of the issuer"
    if kind == "tampered":  # alice makes herself an admin
        return tampered(alice, **{"cognito:groups": ["admin"]}), "the token's signature is invalid"
    if kind == "not a JWT":
        return alice.replace(".", "", 1), "the token is not a valid JWT"
    if kind == "no signature":
        unsigned = alice.rsplit(".", 1)[0] + "."
        return unsigned, "the token's signature is invalid"
    raise ValueError(kind)


@pytest.mark.parametrize(
    "kind", ["expired", "another key", "unknown key", "tampered", "not a JWT", "no signature"]
)
def test_expired_forged_and_tampered_tokens_are_401(local_stack: StackProcess, kind: str) -> None:
    token, description = forged(local_stack, kind)
    assert_unauthorized(call("POST", f"{local_stack.command}/carts", {}, token=token), description)
    assert_unauthorized(call("GET", f"{local_stack.query}/customers/x/orders", token=token), description)


def test_tokens_of_another_user_pool_or_app_client_are_401(local_stack: StackProcess) -> None:
    """Both signed by the endpoint (moto signs every pool with one key): only the issuer and the
    audience checks keep them out, as in AWS."""
    cognito = boto3.client("cognito-idp", endpoint_url=local_stack.endpoint)

    def token_via(pool: str, client: str) -> str:
        return str(
            cognito.initiate_auth(
                ClientId=client,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": "alice", "PASSWORD": DEMO_PASSWORD},
            )["AuthenticationResult"]["AccessToken"]
        )

    other_client = cognito.create_user_pool_client(
        UserPoolId=local_stack.user_pool,
        ClientName="other-app",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"],
    )["UserPoolClient"]["ClientId"]
    other_audience = token_via(local_stack.user_pool, other_client)
    assert_unauthorized(
        call("POST", f"{local_stack.command}/carts", {}, token=other_audience),
        "the token does not have a valid audience",
    )

    pool = cognito.create_user_pool(PoolName=f"other-{uuid.uuid4().hex[:6]}")["UserPool"]["Id"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool, ClientName="shop", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    cognito.admin_create_user(UserPoolId=pool, Username="alice", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool, Username="alice", Password=DEMO_PASSWORD, Permanent=True)
    other_issuer = token_via(pool, client)
    assert_unauthorized(
        call("POST", f"{local_stack.command}/carts", {}, token=other_issuer),
        "the token does not have a valid issuer",
    )


def test_a_token_from_the_cognito_api_works_like_the_printed_one(local_stack: StackProcess) -> None:
    cognito = boto3.client("cognito-idp", endpoint_url=local_stack.endpoint)
    fresh = cognito.initiate_auth(
        ClientId=local_stack.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "alice", "PASSWORD": DEMO_PASSWORD},
    )["AuthenticationResult"]["AccessToken"]
    created = call("POST", f"{local_stack.command}/carts", {}, token=fresh)
    assert created.status == 201, created.body
    shown = eventually(
        lambda: (
            (r := call("GET", f"{local_stack.query}/carts/{created.json()['cartId']}", token=fresh)).status
            == 200
            and r
        )
    )
    assert shown.json()["customerId"] == sub(local_stack, "alice")


def test_a_customer_may_not_create_a_product(local_stack: StackProcess) -> None:
    body = {
        "sku": f"NOPE-{uuid.uuid4().hex[:8]}",
        "name": "No",
        "category": "c",
        "price": {"amount": 1, "currency": "EUR"},
    }
    problem = assert_problem(
        call("POST", f"{local_stack.command}/products", body, token=local_stack.tokens["alice"]),
        403,
        "forbidden",
    )
    assert problem["detail"] == "Only administrators may change the catalog and its stock."


def test_alice_cannot_see_or_change_bobs_cart(
    local_stack: StackProcess, bobs: dict[str, str], product: str
) -> None:
    alice, cart = local_stack.tokens["alice"], bobs["cart"]
    attempts = [
        call("GET", f"{local_stack.query}/carts/{cart}", token=alice),
        call(
            "POST",
            f"{local_stack.command}/carts/{cart}/items",
            {"productId": product, "quantity": 1},
            token=alice,
        ),
        call("PUT", f"{local_stack.command}/carts/{cart}/items/{product}", {"quantity": 5}, token=alice),
        call("DELETE", f"{local_stack.command}/carts/{cart}/items/{product}", token=alice),
        call("POST", f"{local_stack.command}/carts/{cart}/checkout", token=alice),
    ]
    for reply in attempts:
        assert assert_problem(reply, 404, "not-found")["detail"] == f"Cart {cart} does not exist."
    unchanged = call("GET", f"{local_stack.query}/carts/{cart}", token=local_stack.tokens["bob"]).json()
    assert (unchanged["status"], unchanged["version"], len(unchanged["items"])) == ("OPEN", 2, 1)


def test_alice_cannot_see_or_cancel_bobs_order_nor_list_his_orders(
    local_stack: StackProcess, bobs: dict[str, str]
) -> None:
    alice, order = local_stack.tokens["alice"], bobs["order"]
    for reply in (
        call("GET", f"{local_stack.query}/orders/{order}", token=alice),
        call("POST", f"{local_stack.command}/orders/{order}/cancel", token=alice),
    ):
        assert assert_problem(reply, 404, "not-found")["detail"] == f"Order {order} does not exist."
    listed = call("GET", f"{local_stack.query}/customers/{sub(local_stack, 'bob')}/orders", token=alice)
    assert_problem(listed, 403, "forbidden")
    still = call("GET", f"{local_stack.query}/orders/{order}", token=local_stack.tokens["bob"]).json()
    assert still["status"] == "CONFIRMED"


def test_the_admin_acts_for_a_customer(local_stack: StackProcess, product: str) -> None:
    admin, bob, bob_id = local_stack.tokens["admin"], local_stack.tokens["bob"], sub(local_stack, "bob")
    cart = call("POST", f"{local_stack.command}/carts", {"customerId": bob_id}, token=admin).json()["cartId"]
    line = {"productId": product, "quantity": 2}
    assert call("POST", f"{local_stack.command}/carts/{cart}/items", line, token=admin).status == 200
    order = call("POST", f"{local_stack.command}/carts/{cart}/checkout", token=admin).json()["orderId"]

    seen = eventually(
        lambda: (r := call("GET", f"{local_stack.query}/orders/{order}", token=bob)).status == 200 and r
    )
    assert seen.json()["customerId"] == bob_id
    listed = call("GET", f"{local_stack.query}/customers/{bob_id}/orders", token=admin).json()["items"]
    assert order in [o["orderId"] for o in listed]
    eventually(
        lambda: (
            call("GET", f"{local_stack.query}/orders/{order}", token=admin).json()["status"] == "CONFIRMED"
        )
    )
    assert call("POST", f"{local_stack.command}/orders/{order}/cancel", token=admin).status == 200
    eventually(
        lambda: call("GET", f"{local_stack.query}/orders/{order}", token=bob).json()["status"] == "CANCELLED"
    )


def test_the_local_stack_logs_refusals_without_tokens(local_stack: StackProcess) -> None:
    token, _ = forged(local_stack, "expired")
    call("POST", f"{local_stack.command}/carts", {}, token=token)
    logged = "".join(local_stack.output)
    assert "401 CognitoJwt (the token has expired)" in logged
    for printed in local_stack.tokens.values():  # printed once, in the ready message, and never again
        assert logged.count(printed.split(".")[1]) == 1
    assert token.split(".")[1] not in logged
