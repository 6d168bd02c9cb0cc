"""The local stack's Lambda endpoint over HTTP, with boto3 as the aws CLI uses it: Invoke, and
reserved concurrency 0 throttling a function everywhere (its routes 503, its stream mapping waits
and delivers once the limit is removed). Every limit is removed in ``finally`` (the stack is shared)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from local import ROOT
from local.stack.client import call, eventually
from local.stack.control import LocalControl
from local.stack.process import StackProcess
from tests.e2e.conftest import UNKNOWN
from tests.e2e.test_checkout_over_http import buy, new_product, order_status


@pytest.fixture
def control(local_stack: StackProcess) -> Iterator[LocalControl]:
    running = LocalControl.of(local_stack)
    try:
        yield running
    finally:
        running.restore()


def test_invoke_runs_a_function_with_a_sample_event(control: LocalControl) -> None:
    event = json.loads((ROOT / "events" / "CatalogQueries" / "list-products.json").read_text())
    answer = control.invoke("CatalogQueries", event)
    assert answer["statusCode"] == 200
    assert "items" in json.loads(answer["body"])


def test_reserved_concurrency_0_makes_a_functions_routes_503_and_its_invocations_429(
    local_stack: StackProcess, control: LocalControl
) -> None:
    admin = local_stack.tokens["admin"]
    cancel = f"{local_stack.command}/orders/{UNKNOWN}/cancel"
    with control.throttled("OrderCommands"):
        assert control.reserved("OrderCommands") == 0
        refused = call("POST", cancel, token=admin, timeout=10)
        assert refused.status == 503
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.json()["type"] == "urn:shop:problem:function-throttled"
        assert call("GET", f"{local_stack.query}/products").status == 200  # browsing is another function
        client = control.lambda_client
        with pytest.raises(client.exceptions.TooManyRequestsException) as throttled:
            client.invoke(FunctionName="OrderCommands", Payload=b"{}")
        assert throttled.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert control.reserved("OrderCommands") is None
    assert call("POST", cancel, token=admin).status == 404  # the function runs again


def test_a_checkout_waits_for_a_throttled_policy_and_becomes_an_order_once_the_limit_is_removed(
    local_stack: StackProcess, control: LocalControl
) -> None:
    product, _ = new_product(local_stack, "Kettle", 2)
    start = len(local_stack.output)

    def since_start(text: str) -> list[str]:
        return [line for line in local_stack.output[start:] if text in line]

    with control.throttled("OrderIntakePolicy"):
        order = buy(local_stack, product, 1, user="alice")  # checkout still 202
        # The mapping tried, was refused, and keeps the record: no order yet.
        eventually(lambda: since_start("-> OrderIntakePolicy] throttled"))
        assert order_status(local_stack, order, "alice") is None
    eventually(lambda: order_status(local_stack, order, "alice") == "CONFIRMED", timeout=15)
    assert [line for line in since_start("-> OrderIntakePolicy]") if "on-failure" in line] == []
