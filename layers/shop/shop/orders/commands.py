"""Order use cases the Command API accepts."""

from __future__ import annotations

from shop.application import CommandContext, CommandResult, Repository, run_command
from shop.orders.domain import Order


class OrderCommands:
    def __init__(self, repository: Repository) -> None:
        self._repository = repository

    def cancel(self, order_id: str, context: CommandContext) -> CommandResult:
        """PENDING or CONFIRMED orders only; the Catalog releases reserved stock on OrderCancelled.

        A customer cancels only their own orders: another's is answered as if it did not exist.
        """
        return run_command(
            self._repository,
            Order,
            order_id,
            Order.cancel,
            context,
            visible=lambda order: context.caller.may_act_for(order.customer_id),
        )
