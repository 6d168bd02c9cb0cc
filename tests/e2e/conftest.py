"""End-to-end tests drive the local stack (``python -m local``) over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from local.aws.calls import LOG_VARIABLE, Call, CallFileReader
from local.stack.client import call
from local.stack.process import StackProcess, start
from tests.support.iam import assert_allowed


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.xdist_group("e2e"))  # one worker, one shared stack


@pytest.fixture(scope="session")
def call_log(tmp_path_factory: pytest.TempPathFactory) -> CallFileReader:
    """The AWS calls the local stack's functions (and their stream mappings) make (local.calls)."""
    return CallFileReader(tmp_path_factory.mktemp("calls") / "calls.jsonl")


UNKNOWN = "9b2f7c1e-3d4a-4e5f-8a6b-7c8d9e0f1a2b"
#: A request to each HTTP function that changes nothing (its first answer waits for its workers to
#: import the handler: on a loaded 2-core machine that has taken over 30 s).
WARM_UP = [
    ("query", "GET", "/products"),
    ("query", "GET", f"/carts/{UNKNOWN}"),
    ("query", "GET", f"/orders/{UNKNOWN}"),
    ("query", "GET", "/nowhere"),
    ("command", "POST", f"/products/{UNKNOWN}/discontinue"),
    ("command", "POST", f"/carts/{UNKNOWN}/checkout"),
    ("command", "POST", f"/orders/{UNKNOWN}/cancel"),
    ("command", "GET", "/nowhere"),
]


def warm_up(stack: StackProcess, timeout: float = 300) -> None:
    def send(request: tuple[str, str, str]) -> int:
        api, method, path = request
        base = stack.command if api == "command" else stack.query
        return call(method, f"{base}{path}", token=stack.tokens["admin"], timeout=timeout).status

    with ThreadPoolExecutor(len(WARM_UP)) as pool:
        assert list(pool.map(send, WARM_UP)) == [200, 404, 404, 404, 404, 404, 404, 404]


@pytest.fixture(scope="session")
def local_stack(call_log: CallFileReader) -> Iterator[StackProcess]:
    running = start(**{LOG_VARIABLE: str(call_log.path)})
    warm_up(running)
    yield running
    assert running.stop() == 0, "".join(running.output[-30:])
    assert_allowed(call_log.new_calls())
    # Not vacuous: the workers recorded the functions' calls, the stack the mappings' stream reads.
    services = {Call.from_json(line).service for line in call_log.path.read_text().splitlines()}
    assert {"dynamodb", "dynamodbstreams"} <= services, f"the IAM check saw only {services or 'nothing'}"


@pytest.fixture(autouse=True)
def _iam_coverage_of_the_local_stack(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test on the shared stack: the calls recorded so far (some may be stream work a
    previous test started; what is still in flight is checked by the next test or at the end)."""
    yield
    if "local_stack" in request.fixturenames:
        assert_allowed(request.getfixturevalue("call_log").new_calls())
