"""Order routes of the Command API and the Query API."""

from __future__ import annotations

from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response

from shop.domain.text import allowed, identifier
from shop.errors import NotFound
from shop.http import contract
from shop.http.conditional import PRIVATE_LISTING, representation
from shop.http.consistency import read_your_writes
from shop.http.cursor import Cursor, Limit, page_response
from shop.http.identity import caller
from shop.http.request import command_context, resource_id
from shop.http.responses import command_response, etag
from shop.http.router import ShopRouter
from shop.orders.wiring import (
    consistency_tokens,
    fresh_order_queries,
    order_commands,
    order_cursors,
    order_queries,
)

commands = ShopRouter()
queries = ShopRouter()


@commands.post("/orders/<order_id>/cancel", summary="Cancel a PENDING or CONFIRMED order")
@contract.command("OrderVersion")
def cancel_order(order_id: str) -> Response[str]:
    order_id = resource_id(order_id, "Order")
    result = order_commands().cancel(order_id, command_context(commands.current_event))
    return command_response(result, "orderId", tokens=consistency_tokens())


@queries.get("/orders/<order_id>", summary="Get an order")
@contract.resource("Order")
def get_order(order_id: str) -> Response[str]:
    order_id = resource_id(order_id, "Order")
    event = queries.current_event
    asking = caller(event)
    order = read_your_writes(
        event,
        consistency_tokens,
        {f"order-{order_id}": "version"},
        lambda fresh: (fresh_order_queries() if fresh else order_queries()).get(order_id, asking),
    )
    return representation(event, order, etag(order["version"]), private=True)


@queries.get("/customers/<customer_id>/orders", summary="A customer's orders, newest first")
@contract.listing("OrderPage")
def list_customer_orders(
    customer_id: str,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Response[str]:
    customer_id = unquote(customer_id)
    if not 1 <= len(customer_id) <= 64 or not allowed(identifier, customer_id):  # no such customer
        raise NotFound(f"Customer {customer_id[:80]} does not exist.")
    asking = caller(queries.current_event)
    return page_response(
        order_cursors(),
        {"customerId": customer_id},
        cursor,
        lambda start: order_queries().of_customer(customer_id, asking, limit, start),
        cache_control=PRIVATE_LISTING,
    )
