"""Shared code of the shop: event store, projection engine, HTTP helpers and the services.

Layers (imports point inward only):

* ``shop.<service>.domain``: aggregates, events, rules. Pure Python + pydantic.
* ``shop.<service>.commands`` / ``queries`` / ``projection`` / ``policies``: application services
  that orchestrate the domain through ports (``shop.eventstore``, ``shop.projection``).
* ``shop.eventstore.dynamodb``, ``shop.projection.dynamodb``: adapters (boto3).
* ``shop.<service>.api`` and ``shop.http``: the HTTP edge (Powertools routers, problem responses).
"""
