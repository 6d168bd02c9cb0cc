"""Who asks, and what they may do: the rules every service applies to its callers.

A ``Caller`` is the verified identity of a request (``shop.http.identity`` builds it from the JWT
authorizer's claims; the application never sees a token). Customers act only for themselves;
members of the ``admin`` group may change the catalog and act for any customer.

* An admin-only command from anyone else: ``Forbidden`` (403).
* A customer's cart or order addressed by someone who may not act for its customer: the same
  ``NotFound`` as for one that does not exist, so its existence is not revealed.
* Naming another customer (a cart for them, their order list): ``Forbidden``.
"""

from __future__ import annotations

from dataclasses import dataclass

from shop.errors import Forbidden

ADMIN_GROUP = "admin"


@dataclass(frozen=True, slots=True)
class Caller:
    """A verified caller: the token's ``sub`` (a customer's id) and its groups."""

    sub: str
    groups: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.sub:
            raise ValueError("a caller has a subject")

    @property
    def is_admin(self) -> bool:
        return ADMIN_GROUP in self.groups

    def may_act_for(self, customer_id: str) -> bool:
        """Admins act for any customer; a customer only for themselves."""
        return self.is_admin or customer_id == self.sub

    def require_admin(self, action: str) -> None:
        if not self.is_admin:
            raise Forbidden(f"Only administrators may {action}.")

    def require_acting_for(self, customer_id: str, action: str) -> None:
        if not self.may_act_for(customer_id):
            raise Forbidden(f"Customers may {action} only for themselves.")

    def customer(self, named: str | None, action: str) -> str:
        """The customer a command is for: the one it names (if the caller may act for them), else
        the caller themself."""
        if named is None:
            return self.sub
        self.require_acting_for(named, action)
        return named
