"""Random bodies to the Cart routes never cause a 5xx. Valid ones change the world, so this runs
on a stack and world of its own (``test_cart_orders_bad_input.py`` shares one among tests whose
input must change nothing)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.test_cart_orders_bad_input import seed
from tests.integration.test_catalog_bad_input import json_values


@pytest.fixture
def world(stack: Any) -> dict[str, str]:
    return seed(stack)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    route=st.sampled_from(["POST /carts", "POST /carts/{open}/items", "PUT /carts/{open}/items/{cup}"]),
    body=st.fixed_dictionaries(
        {}, optional={"customerId": json_values, "productId": json_values, "quantity": json_values}
    )
    | json_values,
)
def test_no_cart_body_causes_a_5xx(stack: Any, world: dict[str, str], route: str, body: Any) -> None:
    method, path = route.split(" ")
    response = stack.command(method, path.format(**world), body)
    assert response.status < 500, response.body
