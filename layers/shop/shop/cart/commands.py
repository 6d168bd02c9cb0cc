"""Cart use cases. Product names and prices come from the Catalog's read side (``ProductCatalog``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Protocol

from pydantic import field_validator

from shop.application import CommandContext, CommandResult, Repository, earlier_run, run_command
from shop.application.messages import Command, omissible
from shop.cart.domain import AddQuantity, Cart, CustomerId, ListedProduct, SetQuantity, UnknownProduct
from shop.eventstore.store import ConcurrencyError


class ProductCatalog(Protocol):
    def find(self, product_id: str) -> ListedProduct | None:
        """The product as the Query API lists it, or None if it is not visible (yet)."""
        ...


class CreateCart(Command):
    """``{}`` is a cart for the caller; ``customerId`` names a customer the caller may act for
    (themself, or anyone for an admin)."""

    customer_id: CustomerId | None = omissible()  # null is refused: no null in the documents

    @field_validator("customer_id", mode="before")
    @classmethod
    def _absent_not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("leave customerId out for your own cart; null is not a customer")
        return value


class AddCartItem(Command):
    product_id: str
    quantity: AddQuantity


class SetCartItemQuantity(Command):
    quantity: SetQuantity


def new_id() -> str:
    return str(uuid.uuid4())


#: Uses of one ``Idempotency-Key`` for ``POST /carts``, a lifetime apart, that each get a cart.
MAX_KEY_GENERATIONS = 100


class CartCommands:
    def __init__(
        self,
        repository: Repository,
        catalog: ProductCatalog,
        currency: str,
        id_factory: Callable[[], str] = new_id,
    ) -> None:
        self._repository = repository
        self._catalog = catalog
        self._currency = currency
        self._new_id = id_factory

    def create_cart(self, command: CreateCart, context: CommandContext) -> CommandResult:
        """A new cart. A keyed request derives the cart's id from its key, so that a second run of
        it finds the cart the first made. A key reused after its lifetime names a new request: the
        carts earlier uses made are passed over (``new_id``'s generations), the next id is its own."""
        customer_id = context.caller.customer(command.customer_id, "create carts")
        for generation in range(MAX_KEY_GENERATIONS):
            cart = Cart.create(context.new_id("cart", self._new_id, generation), customer_id, self._currency)
            try:
                self._repository.save(cart, metadata=context.metadata)
            except ConcurrencyError:
                earlier = earlier_run(self._repository, Cart, cart.id, context)  # this request, again
                if earlier is not None:
                    return earlier
                if context.request_key is None:
                    break
                continue  # an earlier use of this key, whose lifetime has passed, made this cart
            return CommandResult(cart.id, cart.stream_id, cart.version, changed=True)
        raise RuntimeError("cart id collision")  # never in practice, but never silently

    def add_item(self, cart_id: str, command: AddCartItem, context: CommandContext) -> CommandResult:
        product = self._find(command.product_id)
        if product is None:
            raise UnknownProduct(command.product_id)
        return self._run(cart_id, lambda cart: cart.add_item(product, command.quantity), context)

    def set_quantity(
        self, cart_id: str, product_id: str, command: SetCartItemQuantity, context: CommandContext
    ) -> CommandResult:
        product = self._find(product_id) if command.quantity else None
        return self._run(
            cart_id, lambda cart: cart.set_quantity(product_id, command.quantity, product), context
        )

    def remove_item(self, cart_id: str, product_id: str, context: CommandContext) -> CommandResult:
        return self._run(cart_id, lambda cart: cart.remove_item(product_id), context)

    def check_out(self, cart_id: str, context: CommandContext) -> tuple[CommandResult, str]:
        """Record ``CartCheckedOut`` with a new order id; the Orders service takes it from there."""
        order_id = context.new_id("order", self._new_id)
        return self._run(cart_id, lambda cart: cart.check_out(order_id), context), order_id

    def _run(self, cart_id: str, decide: Callable[[Cart], None], context: CommandContext) -> CommandResult:
        """A command on an existing cart, by its customer or an admin: to anyone else the cart does
        not exist (the same 404 as an unknown id)."""
        return run_command(
            self._repository,
            Cart,
            cart_id,
            decide,
            context,
            visible=lambda cart: context.caller.may_act_for(cart.customer_id),
        )

    def _find(self, product_id: str) -> ListedProduct | None:
        try:
            canonical = str(uuid.UUID(product_id))
        except ValueError:
            return None
        return self._catalog.find(canonical)
