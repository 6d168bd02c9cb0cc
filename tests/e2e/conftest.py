"""End-to-end tests drive the local stack (``python -m local``) over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.process import RunningStack, start


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.xdist_group("e2e"))  # one worker, one shared stack


@pytest.fixture(scope="session")
def local_stack() -> Iterator[RunningStack]:
    running = start()
    yield running
    assert running.stop() == 0, "".join(running.output[-30:])
