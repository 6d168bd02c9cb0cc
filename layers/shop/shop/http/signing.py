"""Signed, URL-safe JSON: what cursors and consistency tokens are made of.

``base64url(payload) "." base64url(hmac-sha256(key, payload)[:16])``, padding dropped. Each codec
chooses its key (``shop.http.cursor`` the secret itself, ``shop.http.consistency`` a key derived
for its one purpose, so one is never the other) and what its payload holds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

_SIGNATURE_BYTES = 16
#: The shortest signing secret either codec accepts.
MIN_SECRET_LENGTH = 16


class Forged(ValueError):
    """Not a document this key signed: malformed, altered, truncated or signed with another key."""


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, secret: str, purpose: bytes | None = None) -> None:
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"the signing secret must be at least {MIN_SECRET_LENGTH} characters")
        raw = secret.encode()
        self._key = raw if purpose is None else hmac.new(raw, purpose, hashlib.sha256).digest()

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]

    def seal(self, payload: bytes) -> str:
        return f"{_b64encode(payload)}.{_b64encode(self._sign(payload))}"

    def unseal(self, text: str) -> Any:
        """The JSON document ``text`` carries, if this key signed it; else ``Forged``."""
        try:
            payload_text, signature_text = text.split(".")
            payload, signature = _b64decode(payload_text), _b64decode(signature_text)
        except ValueError:  # binascii.Error is one
            raise Forged(text) from None
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise Forged(text)
        try:
            return json.loads(payload)
        except ValueError:
            raise Forged(text) from None
