"""Cart routes of the Command API and the Query API."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from shop.cart.commands import AddCartItem, CreateCart, SetCartItemQuantity
from shop.cart.wiring import cart_commands, cart_queries, consistency_tokens, fresh_cart_queries
from shop.http import contract
from shop.http.conditional import representation
from shop.http.consistency import read_your_writes
from shop.http.identity import caller
from shop.http.request import command_context, resource_id
from shop.http.responses import command_response, etag
from shop.http.router import ShopRouter

commands = ShopRouter()
queries = ShopRouter()


@commands.post("/carts", summary="Create a cart: the caller's own ({}), or, for an admin, a customer's")
@contract.command("CartVersion", status=HTTPStatus.CREATED, location="/carts/{cartId}")
def create_cart(body: Annotated[CreateCart, Body()]) -> Response[str]:
    result = cart_commands().create_cart(body, command_context(commands.current_event))
    return command_response(
        result,
        "cartId",
        tokens=consistency_tokens(),
        status=HTTPStatus.CREATED,
        location=f"/carts/{result.aggregate_id}",
    )


@commands.post("/carts/<cart_id>/items", summary="Add a product to a cart (adds to an existing line)")
@contract.command("CartVersion")
def add_cart_item(cart_id: str, body: Annotated[AddCartItem, Body()]) -> Response[str]:
    cart_id = resource_id(cart_id, "Cart")
    result = cart_commands().add_item(cart_id, body, command_context(commands.current_event))
    return command_response(result, "cartId", tokens=consistency_tokens())


@commands.put("/carts/<cart_id>/items/<product_id>", summary="Set a line's quantity (0 removes it)")
@contract.command("CartVersion")
def set_cart_item_quantity(
    cart_id: str, product_id: str, body: Annotated[SetCartItemQuantity, Body()]
) -> Response[str]:
    cart_id = resource_id(cart_id, "Cart")
    product_id = resource_id(product_id, "Product")
    result = cart_commands().set_quantity(cart_id, product_id, body, command_context(commands.current_event))
    return command_response(result, "cartId", tokens=consistency_tokens())


@commands.delete("/carts/<cart_id>/items/<product_id>", summary="Remove a line from a cart")
@contract.command("CartVersion")
def remove_cart_item(cart_id: str, product_id: str) -> Response[str]:
    cart_id = resource_id(cart_id, "Cart")
    product_id = resource_id(product_id, "Product")
    result = cart_commands().remove_item(cart_id, product_id, command_context(commands.current_event))
    return command_response(result, "cartId", tokens=consistency_tokens())


@commands.post("/carts/<cart_id>/checkout", summary="Check a cart out; the order follows asynchronously")
@contract.command("CheckoutAccepted", status=HTTPStatus.ACCEPTED, location="/orders/{orderId}")
def check_out_cart(cart_id: str) -> Response[str]:
    cart_id = resource_id(cart_id, "Cart")
    result, order_id = cart_commands().check_out(cart_id, command_context(commands.current_event))
    return command_response(
        result,
        "cartId",
        tokens=consistency_tokens(),
        status=HTTPStatus.ACCEPTED,
        location=f"/orders/{order_id}",
        extra={"orderId": order_id},
    )


@queries.get("/carts/<cart_id>", summary="Get a cart with its lines and subtotal")
@contract.resource("Cart")
def get_cart(cart_id: str) -> Response[str]:
    cart_id = resource_id(cart_id, "Cart")
    event = queries.current_event
    asking = caller(event)
    cart = read_your_writes(
        event,
        consistency_tokens,
        {f"cart-{cart_id}": "version"},
        lambda fresh: (fresh_cart_queries() if fresh else cart_queries()).get(cart_id, asking),
    )
    return representation(event, cart, etag(cart["version"]), private=True)
