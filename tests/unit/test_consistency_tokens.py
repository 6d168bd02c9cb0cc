"""Consistency tokens: issued for a write, read back only if genuine; GETs wait for them, briefly."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shop.errors import BadRequest, Hidden, NotFound
from shop.http.consistency import (
    BACKOFF,
    MAX_TOKEN_LENGTH,
    WAIT_SECONDS,
    BadConsistencyToken,
    NotCaughtUp,
    TokenCodec,
    Written,
    wait_until_applied,
)
from shop.http.cursor import CursorCodec
from shop.http.signing import _b64encode

SECRET = "a-secret-of-enough-length"
CODEC = TokenCodec(SECRET)
URL_SAFE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
streams = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=80
)  # ids are ASCII
versions = st.integers(min_value=0, max_value=2**53)


@settings(deadline=None)  # no timing in unit tests (a loaded machine is slow)
@given(streams, versions)
def test_a_token_is_url_safe_and_says_what_was_written(stream_id: str, version: int) -> None:
    token = CODEC.issue(Written(stream_id, version))
    assert set(token) <= URL_SAFE
    assert CODEC.read(token) == Written(stream_id, version)


@settings(deadline=None)  # no timing in unit tests (a loaded machine is slow)
@given(streams, versions, st.data())
def test_any_change_to_a_token_is_detected(stream_id: str, version: int, data: st.DataObject) -> None:
    token = CODEC.issue(Written(stream_id, version))
    index = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.sampled_from(sorted(URL_SAFE - {token[index]})))
    tampered = token[:index] + replacement + token[index + 1 :]
    try:
        read = CODEC.read(tampered)
    except BadConsistencyToken:
        return
    # Base64 without padding: the last character may carry unused bits, so a few spellings of the
    # same bytes exist. They say the same thing; nothing else can pass.
    assert read == Written(stream_id, version)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = TokenCodec("another-secret-of-enough-length").issue(Written("cart-1", 3))
    with pytest.raises(BadConsistencyToken):
        CODEC.read(token)


def test_a_cursor_is_never_a_token() -> None:
    """Cursors are signed with the secret itself, tokens with a key derived from it."""
    cursor = CursorCodec(SECRET).encode({"s": "cart-1", "v": 3}, {})
    payload = json.dumps({"s": "cart-1", "v": 3}, separators=(",", ":")).encode()
    same_mac = f"{_b64encode(payload)}.{cursor.split('.')[1]}"
    for candidate in (cursor, same_mac):
        with pytest.raises(BadConsistencyToken):
            CODEC.read(candidate)


@pytest.mark.parametrize(
    "token",
    ["", ".", "abc", "a.b.c", "!!!.???", "é.é", "e30.AAAAAAAAAAAAAAAAAAAAAA", "x" * (MAX_TOKEN_LENGTH + 1)],
)
def test_garbage_is_refused_as_a_bad_request(token: str) -> None:
    with pytest.raises(BadRequest, match="X-Consistency-Token"):
        CODEC.read(token)


@pytest.mark.parametrize(
    "payload",
    [
        {"s": "cart-1"},
        {"v": 1},
        {"s": 1, "v": 1},
        {"s": "cart-1", "v": "1"},
        {"s": "cart-1", "v": True},
        {"s": "cart-1", "v": -1},
        {"s": "cart-1", "v": 1.0},
        [1, 2],
        "text",
        None,
    ],
)
def test_a_signed_payload_that_names_no_write_is_refused(payload: Any) -> None:
    text = json.dumps(payload, separators=(",", ":")).encode()
    token = f"{_b64encode(text)}.{_b64encode(CODEC._signer._sign(text))}"
    with pytest.raises(BadConsistencyToken):
        CODEC.read(token)


def test_short_secrets_are_a_configuration_error() -> None:
    TokenCodec("s" * 16)
    with pytest.raises(ValueError, match="at least 16"):
        TokenCodec("s" * 15)


class Clock:
    """Time that passes only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.pauses: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.pauses.append(seconds)
        self.now += seconds


class Rows:
    """A row that applies versions as time passes: ``schedule`` is [(at, version)]."""

    def __init__(self, clock: Clock, schedule: list[tuple[float, int]], *, hidden: bool = False) -> None:
        self.clock = clock
        self.schedule = schedule
        self.hidden = hidden
        self.reads: list[bool] = []

    def __call__(self, consistent: bool) -> dict[str, Any]:
        self.reads.append(consistent)
        if self.hidden:
            raise Hidden("Cart c does not exist.")
        applied = [version for at, version in self.schedule if self.clock.now - 100.0 >= at]
        if not applied:
            raise NotFound("Cart c does not exist.")
        return {"version": applied[-1]}


def test_a_row_already_there_is_read_once() -> None:
    clock = Clock()
    rows = Rows(clock, [(0, 3)])
    assert wait_until_applied(rows, "version", 2, clock=clock, sleep=clock.sleep) == {"version": 3}
    assert rows.reads == [True]  # strongly consistent
    assert clock.pauses == []


def test_the_wait_backs_off_until_the_version_is_applied() -> None:
    clock = Clock()
    rows = Rows(clock, [(0, 1), (0.25, 2)])
    assert wait_until_applied(rows, "version", 2, clock=clock, sleep=clock.sleep) == {"version": 2}
    assert clock.pauses == [0.1, 0.2]
    assert len(rows.reads) == 3


def test_a_resource_not_projected_yet_is_waited_for() -> None:
    clock = Clock()
    rows = Rows(clock, [(0.5, 1)])
    assert wait_until_applied(rows, "version", 1, clock=clock, sleep=clock.sleep) == {"version": 1}
    assert clock.pauses == [0.1, 0.2, 0.4]


def test_a_read_side_that_does_not_catch_up_is_a_503_after_a_few_reads() -> None:
    clock = Clock()
    rows = Rows(clock, [(0, 1)])
    with pytest.raises(NotCaughtUp) as refused:
        wait_until_applied(rows, "version", 2, clock=clock, sleep=clock.sleep)
    assert refused.value.status == 503
    assert refused.value.headers == {"Retry-After": "1"}
    assert clock.now - 100.0 == pytest.approx(WAIT_SECONDS)
    assert clock.pauses[: len(BACKOFF)] == list(BACKOFF)
    assert len(rows.reads) == len(BACKOFF) + 2  # 0, 0.1, 0.3, 0.7, 1.5, 2.0: six reads in two seconds


def test_a_resource_the_caller_may_not_see_is_not_waited_for() -> None:
    clock = Clock()
    rows = Rows(clock, [(0, 5)], hidden=True)
    with pytest.raises(Hidden):
        wait_until_applied(rows, "version", 1, clock=clock, sleep=clock.sleep)
    assert clock.pauses == []


@settings(deadline=None)  # no timing in unit tests (a loaded machine is slow)
@given(st.lists(st.integers(1, 30), max_size=20), st.integers(1, 10))
def test_never_more_than_six_reads_nor_more_than_the_budget(delays: list[int], wanted: int) -> None:
    clock = Clock()
    at, schedule = 0.0, []
    for version, delay in enumerate(delays, start=1):
        at += delay / 10
        schedule.append((at, version))
    rows = Rows(clock, schedule)
    try:
        answer = wait_until_applied(rows, "version", wanted, clock=clock, sleep=clock.sleep)
    except NotCaughtUp:  # then the last read, at the end of the budget, did not see it either
        waited = clock.now - 100.0
        assert not any(version >= wanted and at <= waited for at, version in schedule)
    else:
        assert answer["version"] >= wanted
    assert len(rows.reads) <= len(BACKOFF) + 2
    assert clock.now - 100.0 <= WAIT_SECONDS + 1e-9
