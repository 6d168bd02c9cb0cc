"""End-to-end tests drive the local stack (``python -m local``) over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.aws.calls import LOG_VARIABLE, Call, CallFileReader
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


@pytest.fixture(scope="session")
def local_stack(call_log: CallFileReader) -> Iterator[StackProcess]:
    running = start(**{LOG_VARIABLE: str(call_log.path)})
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
