from __future__ import annotations

import json

import pytest

from shop.errors import BadRequest
from shop.http.cursor import CursorCodec
from shop.http.signing import _b64encode

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


def test_positions_of_every_length_round_trip() -> None:
    """Base64 padding differs with the payload's length modulo 3; every remainder must decode."""
    for size in range(40):
        position = {"productId": "p" * size, "nameKey": "é" * (size % 5)}
        cursor = CODEC.encode(position, {"category": None})
        assert "=" not in cursor
        assert CODEC.decode(cursor, {"category": None}) == position


def test_a_payload_swapped_under_a_genuine_signature_is_refused() -> None:
    genuine = CODEC.encode(POSITION, {"category": "kitchen"})
    forged = CODEC.encode(POSITION | {"productId": "other"}, {"category": "kitchen"})
    swapped = f"{forged.split('.')[0]}.{genuine.split('.')[1]}"
    with pytest.raises(BadRequest, match=r"^The cursor is invalid; start again without one\.$"):
        CODEC.decode(swapped, {"category": "kitchen"})


def test_a_signed_payload_that_is_not_a_position_is_refused() -> None:
    """Only this codec can sign; still, a signed payload of the wrong shape is no position."""
    for payload in ({"k": 5, "q": {}}, {"k": [1], "q": {}}, {"q": {}}, [1, 2]):
        text = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        cursor = f"{_b64encode(text)}.{_b64encode(CODEC._signer._sign(text))}"
        with pytest.raises(BadRequest):
            CODEC.decode(cursor, {})


def test_secrets_shorter_than_16_characters_are_refused() -> None:
    CursorCodec("s" * 16)
    with pytest.raises(ValueError, match="at least 16"):
        CursorCodec("s" * 15)
