"""Catalog use cases: the commands the Command API accepts for products and stock."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, field_validator, model_validator

from shop.application import Caller, CommandContext, CommandResult, Repository, earlier_run, run_command
from shop.application.messages import Command, omissible
from shop.catalog.domain import (
    Category,
    Description,
    DuplicateSku,
    Product,
    ProductName,
    ReceiveQuantity,
    Sku,
    Stock,
)
from shop.domain.money import Money, Price
from shop.errors import FieldError, InvalidInput, NotFound
from shop.eventstore.store import ConcurrencyError


class CreateProduct(Command):
    sku: Sku
    name: ProductName
    description: Description = ""
    category: Category
    price: Price


class ChangeProductDetails(Command):
    """Any of name, description, category; ``description: null`` clears the description."""

    # What the OpenAPI documents say: at least one field; null only for the description.
    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    name: ProductName | None = omissible()
    description: Description | None = None
    category: Category | None = omissible()

    @field_validator("name", "category", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("must not be null")
        return value

    @field_validator("description", mode="before")
    @classmethod
    def _null_clears(cls, value: Any) -> Any:
        return "" if value is None else value

    @model_validator(mode="after")
    def _at_least_one(self) -> ChangeProductDetails:
        if not self.model_fields_set:
            raise ValueError("give at least one of name, description, category")
        return self


class ReceiveStock(Command):
    quantity: ReceiveQuantity


class CatalogCommands:
    """Every catalog and stock command is for administrators (``admin`` group) only."""

    def __init__(self, repository: Repository, currency: str) -> None:
        self._repository = repository
        self._currency = currency

    @staticmethod
    def authorize(caller: Caller) -> None:
        """Every command's first rule. The Command API also asks it before it reads a request's input
        (``shop.catalog.api``), so a customer is refused whatever she sends."""
        caller.require_admin("change the catalog and its stock")

    def _authorize(self, context: CommandContext) -> None:
        self.authorize(context.caller)

    def create_product(self, command: CreateProduct, context: CommandContext) -> CommandResult:
        """One conditional put of ``product-<id>``; the id comes from the SKU, so a taken SKU fails it
        (unless an earlier run of this same keyed request took it: then that run's result)."""
        self._authorize(context)
        self._check_currency(command.price, "price.currency")
        product_id = Product.id_for_sku(command.sku)
        product = Product.create(
            product_id,
            sku=command.sku,
            name=command.name,
            description=command.description,
            category=command.category,
            price=command.price.as_money(),
        )
        try:
            self._repository.save(product, metadata=context.metadata)
        except ConcurrencyError:
            earlier = earlier_run(self._repository, Product, product_id, context)
            if earlier is not None:
                return earlier
            raise DuplicateSku(f"A product with SKU '{command.sku}' already exists.") from None
        return CommandResult(product_id, product.stream_id, product.version, changed=True)

    def change_details(
        self, product_id: str, command: ChangeProductDetails, context: CommandContext
    ) -> CommandResult:
        self._authorize(context)
        fields = command.model_dump(include=command.model_fields_set)
        return run_command(
            self._repository, Product, product_id, lambda p: p.change_details(**fields), context
        )

    def change_price(self, product_id: str, price: Price, context: CommandContext) -> CommandResult:
        self._authorize(context)
        self._check_currency(price, "currency")
        money = price.as_money()
        return run_command(self._repository, Product, product_id, lambda p: p.change_price(money), context)

    def discontinue(self, product_id: str, context: CommandContext) -> CommandResult:
        self._authorize(context)
        return run_command(self._repository, Product, product_id, Product.discontinue, context)

    def receive_stock(self, product_id: str, command: ReceiveStock, context: CommandContext) -> CommandResult:
        """Stock is its own aggregate (``stock-<productId>``); the product must exist and be active.

        The rule spans two streams, so the stock is appended in one transaction with a check that
        the product did not change meanwhile (a discontinue cannot slip in between).
        """
        self._authorize(context)

        def active_product() -> list[Product]:
            product = self._repository.load(Product, product_id)
            if not product.exists:
                raise NotFound(f"Product {product_id} does not exist.")
            product.ensure_active()
            return [product]

        return run_command(
            self._repository,
            Stock,
            product_id,
            lambda stock: stock.receive(command.quantity),
            context,
            require_existing=False,
            guards=active_product,
        )

    def _check_currency(self, price: Money, field: str) -> None:
        if price.currency != self._currency:
            raise InvalidInput([FieldError(field, f"this shop sells in {self._currency}")])
