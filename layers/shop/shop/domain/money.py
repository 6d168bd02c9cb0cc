"""Money: integer minor units plus an ISO-4217 code."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from shop.domain.numbers import WHOLE

#: The highest price a product may have; totals of several units may exceed it.
MAX_PRICE = 1_000_000_000


class Money(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: Annotated[StrictInt, Field(ge=0, description="Minor units, e.g. cents"), WHOLE]
    currency: Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$", description="ISO-4217 code")]

    def times(self, factor: int) -> Money:
        return Money(amount=self.amount * factor, currency=self.currency)

    def plus(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError("cannot add money in different currencies")
        return Money(amount=self.amount + other.amount, currency=self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(amount=0, currency=currency)


class Price(Money):
    """A product's price as a command states it: at most ``MAX_PRICE`` minor units."""

    amount: Annotated[StrictInt, Field(ge=0, le=MAX_PRICE, description="Minor units, e.g. cents"), WHOLE]

    def as_money(self) -> Money:
        return Money(amount=self.amount, currency=self.currency)
