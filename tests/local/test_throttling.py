"""Reserved concurrency in the local stack: a function's limit refuses invocations beyond it, as
Lambda's ``TooManyRequestsException`` does; its HTTP routes answer 503, its stream mappings wait."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from local.aws.esm import FunctionError, Throttled
from local.stack.concurrency import (
    ACCOUNT_CONCURRENCY,
    MINIMUM_UNRESERVED,
    InvalidConcurrency,
    ReservedConcurrency,
    ThrottlingInvoker,
)


class Recorder:
    """An invoker that records what reached it; ``hold`` keeps invocations running until released."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.hold: threading.Event | None = None
        self.started = threading.Semaphore(0)

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        self.events.append((function, event))
        self.started.release()
        if self.hold is not None:
            assert self.hold.wait(10)
        if event.get("raise"):
            raise FunctionError("boom")
        return {"ran": function}


def test_no_limit_runs_every_invocation() -> None:
    inner = Recorder()
    invoker = ThrottlingInvoker(inner, ReservedConcurrency())
    assert invoker.invoke("Fn", {}) == {"ran": "Fn"}
    assert len(inner.events) == 1


def test_zero_refuses_every_invocation_before_it_reaches_the_function() -> None:
    inner, concurrency = Recorder(), ReservedConcurrency()
    concurrency.put("Fn", 0)
    invoker = ThrottlingInvoker(inner, concurrency)

    with pytest.raises(Throttled) as refused:
        invoker.invoke("Fn", {})
    assert not isinstance(refused.value, FunctionError)
    assert (refused.value.function, refused.value.limit) == ("Fn", 0)
    assert refused.value.REASON == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert refused.value.retry_after >= 1
    assert inner.events == []
    assert invoker.invoke("Other", {}) == {"ran": "Other"}  # only that function

    concurrency.delete("Fn")
    assert invoker.invoke("Fn", {}) == {"ran": "Fn"}


def test_a_limit_of_n_refuses_the_invocation_beyond_n_in_flight() -> None:
    inner, concurrency = Recorder(), ReservedConcurrency()
    concurrency.put("Fn", 2)
    invoker = ThrottlingInvoker(inner, concurrency)
    inner.hold = threading.Event()
    running = [threading.Thread(target=invoker.invoke, args=("Fn", {})) for _ in range(2)]
    for thread in running:
        thread.start()
    for _ in running:
        assert inner.started.acquire(timeout=10)
    try:
        assert concurrency.in_flight("Fn") == 2
        with pytest.raises(Throttled):
            invoker.invoke("Fn", {})
    finally:
        inner.hold.set()
        for thread in running:
            thread.join()
    inner.hold = None
    assert concurrency.in_flight("Fn") == 0
    assert invoker.invoke("Fn", {}) == {"ran": "Fn"}
    assert len(inner.events) == 3


def test_a_function_error_frees_its_slot() -> None:
    concurrency = ReservedConcurrency()
    concurrency.put("Fn", 1)
    invoker = ThrottlingInvoker(Recorder(), concurrency)
    with pytest.raises(FunctionError):
        invoker.invoke("Fn", {"raise": True})
    assert concurrency.in_flight("Fn") == 0
    assert invoker.invoke("Fn", {}) == {"ran": "Fn"}


def test_put_get_delete_and_what_a_limit_may_be() -> None:
    concurrency = ReservedConcurrency()
    assert concurrency.get("Fn") is None
    assert concurrency.put("Fn", 5) == 5
    assert concurrency.get("Fn") == 5
    assert concurrency.limits() == {"Fn": 5}
    concurrency.delete("Fn")
    assert concurrency.get("Fn") is None
    concurrency.delete("Fn")  # deleting what is not set changes nothing, as in Lambda

    for bad in (-1, 1.5, "3", True, None):
        with pytest.raises(InvalidConcurrency):
            concurrency.put("Fn", bad)  # type: ignore[arg-type]
    # Lambda keeps 100 of the account's 1000 unreserved.
    most = ACCOUNT_CONCURRENCY - MINIMUM_UNRESERVED
    concurrency.put("A", most - 10)
    with pytest.raises(InvalidConcurrency, match="UnreservedConcurrentExecution"):
        concurrency.put("B", 11)
    assert concurrency.get("B") is None
    concurrency.put("A", most)  # replacing A's own reservation counts A once


def test_listeners_hear_of_every_change() -> None:
    concurrency = ReservedConcurrency()
    heard: list[str] = []
    concurrency.subscribe(heard.append)
    concurrency.put("Fn", 0)
    concurrency.delete("Fn")
    assert heard == ["Fn", "Fn"]


# ---------------------------------------------------------------------- the stack


@pytest.fixture
def limits(stack: Any) -> Iterator[ReservedConcurrency]:
    concurrency: ReservedConcurrency = stack.concurrency
    yield concurrency
    for function in list(concurrency.limits()):
        concurrency.delete(function)


def test_a_throttled_functions_routes_answer_503_problems_with_retry_after(
    stack: Any, limits: ReservedConcurrency
) -> None:
    limits.put("OrderCommands", 0)
    answer = stack.command("POST", f"/orders/{uuid.uuid4()}/cancel")

    assert answer.status == 503
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert int(answer.headers["Retry-After"]) >= 1
    problem = answer.json()
    assert problem["type"] == "urn:shop:problem:function-throttled"
    assert (problem["status"], problem["title"]) == (503, "Service Unavailable")
    assert "OrderCommands" in problem["detail"]
    assert stack.query("GET", "/products").status == 200  # another function's route

    limits.delete("OrderCommands")
    assert stack.command("POST", f"/orders/{uuid.uuid4()}/cancel").status == 404


def test_a_throttled_policy_keeps_its_records_and_delivers_them_once_the_limit_is_removed(
    stack: Any, limits: ReservedConcurrency
) -> None:
    mug = {"sku": f"T-{uuid.uuid4().hex[:8]}", "name": "Mug", "category": "c"}
    product = stack.command("POST", "/products", {**mug, "price": {"amount": 5, "currency": "EUR"}}).json()[
        "productId"
    ]
    assert stack.command("POST", f"/products/{product}/stock", {"quantity": 3}).status == 200
    stack.pump()
    cart = stack.command("POST", "/carts", {}, as_user="alice").json()["cartId"]
    added = stack.command(
        "POST", f"/carts/{cart}/items", {"productId": product, "quantity": 1}, as_user="alice"
    )
    assert added.status == 200
    limits.put("OrderIntakePolicy", 0)
    checkout = stack.command("POST", f"/carts/{cart}/checkout", as_user="alice")
    assert checkout.status == 202
    order = checkout.json()["orderId"]

    with pytest.raises(TimeoutError):  # never settles while the policy may not run
        stack.pump(timeout=0.5)
    [intake] = [m for m in stack.mappings if m.function == "OrderIntakePolicy"]
    assert intake.stats.throttled > 0
    assert (intake.stats.failed_invocations, intake.stats.discarded) == (0, 0)
    assert not intake.idle
    assert stack.query("GET", f"/orders/{order}", as_user="alice").status == 404

    limits.delete("OrderIntakePolicy")
    stack.pump()
    assert stack.query("GET", f"/orders/{order}", as_user="alice").json()["status"] == "CONFIRMED"
