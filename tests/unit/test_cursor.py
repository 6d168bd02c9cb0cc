from __future__ import annotations

import pytest

from shop.errors import BadRequest
from shop.http.cursor import CursorCodec

CODEC = CursorCodec("a-secret-of-enough-length")
POSITION = {"productId": "p", "activeCategory": "kitchen", "nameKey": "mug#p"}


def test_round_trip_is_url_safe() -> None:
    cursor = CODEC.encode(POSITION, {"category": "kitchen"})
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    assert CODEC.decode(cursor, {"category": "kitchen"}) == POSITION


def test_another_secret_or_query_is_refused() -> None:
    cursor = CODEC.encode(POSITION, {"category": "kitchen"})
    with pytest.raises(BadRequest):
        CursorCodec("another-secret-of-enough-length").decode(cursor, {"category": "kitchen"})
    with pytest.raises(BadRequest):
        CODEC.decode(cursor, {"category": "garden"})


@pytest.mark.parametrize("cursor", ["", ".", "x.y", "abc", "a.b.c", "!!!.???", "e30.AAAAAAAAAAAAAAAAAAAAAA"])
def test_garbage_is_refused(cursor: str) -> None:
    with pytest.raises(BadRequest):
        CODEC.decode(cursor, {"category": None})


def test_short_secrets_are_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        CursorCodec("short")
