"""Opaque, URL-safe, tamper-evident pagination cursors.

A cursor is ``base64url(json(position)) "." base64url(hmac-sha256(secret, payload)[:16])``. The
position is the read table's ``LastEvaluatedKey`` plus the query it belongs to; a cursor that was
altered, truncated, signed with another secret, or used with another query is a 400.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from shop.errors import BadRequest

_SIGNATURE_BYTES = 16


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    def __init__(self, secret: str) -> None:
        if len(secret) < 16:
            raise ValueError("the cursor secret must be at least 16 characters")
        self._key = secret.encode()

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]

    def encode(self, position: Mapping[str, Any], query: Mapping[str, Any]) -> str:
        payload = json.dumps({"k": position, "q": query}, separators=(",", ":"), sort_keys=True).encode()
        return f"{_b64encode(payload)}.{_b64encode(self._sign(payload))}"

    def decode(self, cursor: str, query: Mapping[str, Any]) -> dict[str, Any]:
        """The position a cursor holds, if it is genuine and was issued for ``query``."""
        invalid = BadRequest("The cursor is invalid; start again without one.")
        try:
            payload_text, signature_text = cursor.split(".")
            payload, signature = _b64decode(payload_text), _b64decode(signature_text)
        except (ValueError, binascii.Error):
            raise invalid from None
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise invalid
        try:
            decoded = json.loads(payload)
        except ValueError:
            raise invalid from None
        if (
            not isinstance(decoded, dict)
            or not isinstance(decoded.get("k"), dict)
            or decoded.get("q") != query
        ):
            raise invalid
        position: dict[str, Any] = decoded["k"]
        return position
