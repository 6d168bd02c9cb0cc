"""Building blocks every service's domain uses: events, aggregates, money. Pure Python + pydantic."""

from shop.domain.aggregate import Aggregate
from shop.domain.events import DomainEvent, EventRegistry
from shop.domain.money import Money

__all__ = ["Aggregate", "DomainEvent", "EventRegistry", "Money"]
