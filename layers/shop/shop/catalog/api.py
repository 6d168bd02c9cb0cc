"""Catalog routes of the Command API and the Query API. Each route: parse, call one service, answer."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from shop.catalog.commands import CatalogCommands, ChangeProductDetails, CreateProduct, ReceiveStock
from shop.catalog.domain import Category
from shop.catalog.wiring import (
    catalog_commands,
    consistency_tokens,
    fresh_product_queries,
    product_queries,
    query_cursors,
)
from shop.domain.money import Price
from shop.http import contract
from shop.http.conditional import PUBLIC_LISTING, representation
from shop.http.consistency import read_your_writes
from shop.http.cursor import Cursor, Limit, page_response
from shop.http.request import command_context, resource_id
from shop.http.responses import command_response, etag
from shop.http.router import ShopRouter

#: Every catalog and stock command is for admins: a customer is refused before her input is judged.
commands = ShopRouter(guard=CatalogCommands.authorize)
queries = ShopRouter()


@commands.post("/products", summary="Create a product")
@contract.command("ProductVersion", status=HTTPStatus.CREATED, location="/products/{productId}")
def create_product(body: Annotated[CreateProduct, Body()]) -> Response[str]:
    result = catalog_commands().create_product(body, command_context(commands.current_event))
    location = f"/products/{result.aggregate_id}"
    return command_response(
        result, "productId", tokens=consistency_tokens(), status=HTTPStatus.CREATED, location=location
    )


@commands.patch("/products/<product_id>", summary="Change a product's name, description or category")
@contract.command("ProductVersion")
def change_product_details(product_id: str, body: Annotated[ChangeProductDetails, Body()]) -> Response[str]:
    product_id = resource_id(product_id, "Product")
    result = catalog_commands().change_details(product_id, body, command_context(commands.current_event))
    return command_response(result, "productId", tokens=consistency_tokens())


@commands.put("/products/<product_id>/price", summary="Change a product's price")
@contract.command("ProductVersion")
def change_product_price(product_id: str, body: Annotated[Price, Body()]) -> Response[str]:
    product_id = resource_id(product_id, "Product")
    result = catalog_commands().change_price(product_id, body, command_context(commands.current_event))
    return command_response(result, "productId", tokens=consistency_tokens())


@commands.post("/products/<product_id>/discontinue", summary="Discontinue a product")
@contract.command("ProductVersion")
def discontinue_product(product_id: str) -> Response[str]:
    product_id = resource_id(product_id, "Product")
    result = catalog_commands().discontinue(product_id, command_context(commands.current_event))
    return command_response(result, "productId", tokens=consistency_tokens())


@commands.post("/products/<product_id>/stock", summary="Receive stock for a product")
@contract.command("StockVersion")
def receive_stock(product_id: str, body: Annotated[ReceiveStock, Body()]) -> Response[str]:
    product_id = resource_id(product_id, "Product")
    context = command_context(commands.current_event, etag_part=1)  # If-Match compares the stock version
    result = catalog_commands().receive_stock(product_id, body, context)
    return command_response(result, "productId", tokens=consistency_tokens(), version_field="stockVersion")


@queries.get("/products", summary="List active products, by name, optionally within a category")
@contract.listing("ProductPage")
def list_products(
    category: Annotated[Category | None, Query()] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Response[str]:
    return page_response(
        query_cursors(),
        {"category": category},
        cursor,
        lambda start: product_queries().list_active(category, limit, start),
        cache_control=PUBLIC_LISTING,
    )


@queries.get("/products/<product_id>", summary="Get a product with its stock")
@contract.resource("Product")
def get_product(product_id: str) -> Response[str]:
    product_id = resource_id(product_id, "Product")
    event = queries.current_event
    product = read_your_writes(
        event,
        consistency_tokens,
        {f"product-{product_id}": "version", f"stock-{product_id}": "stockVersion"},
        lambda fresh: (fresh_product_queries() if fresh else product_queries()).get(product_id),
    )
    return representation(event, product, etag(product["version"], product["stockVersion"]))
