"""Read-your-writes: a consistency token on every command response, honoured by single-resource GETs.

A token names the stream a command wrote and the version it reached:
``base64url(json({"s": streamId, "v": version})) "." base64url(hmac-sha256(key, payload)[:16])``,
URL-safe and tamper-evident. ``key`` is derived from the signing secret for this one purpose, so
no cursor is ever a token (``shop.http.cursor`` signs with the secret itself). Each service's wiring
builds the codec (``consistency_tokens()``) from the secret, as it builds its cursor codec: the edge
never reaches Secrets Manager itself.

A GET that sends one (``X-Consistency-Token``) reads, strongly consistent, until the row has
applied that version, backing off (at most ``len(BACKOFF) + 2`` reads within ``WAIT_SECONDS``),
then answers it; else 503 with ``Retry-After``. A token of another resource, or one not signed
here, is a 400. See docs/read-your-writes.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from shop.errors import BadRequest, Hidden, NotFound
from shop.http.contract import CONSISTENCY_TOKEN, RETRY_AFTER
from shop.http.problems import HttpProblem
from shop.http.signing import Forged, Signer

TOKEN_HEADER = CONSISTENCY_TOKEN
#: How long a GET waits for the read side, and the pauses between its reads (doubling from 0.1 s).
WAIT_SECONDS = 2.0
BACKOFF = (0.1, 0.2, 0.4, 0.8)
#: What a 503 tells the client to wait before asking again.
RETRY_AFTER_SECONDS = 1
#: Tokens are about 100 characters; anything much longer is not one.
MAX_TOKEN_LENGTH = 512
_PURPOSE = b"shop/consistency-token/v1"

type Read = Callable[[bool], dict[str, Any]]


class BadConsistencyToken(BadRequest):
    code = "bad-consistency-token"


@dataclass(frozen=True, slots=True)
class Written:
    """What a token says: ``stream_id`` reached ``version``."""

    stream_id: str
    version: int


class TokenCodec:
    def __init__(self, secret: str) -> None:
        self._signer = Signer(secret, _PURPOSE)

    def issue(self, written: Written) -> str:
        payload = json.dumps({"s": written.stream_id, "v": written.version}, separators=(",", ":")).encode()
        return self._signer.seal(payload)

    def read(self, token: str) -> Written:
        """What a genuine token says; ``BadConsistencyToken`` for anything else."""
        invalid = BadConsistencyToken(f"The {TOKEN_HEADER} header is not a token this shop issued.")
        if len(token) > MAX_TOKEN_LENGTH or not token.isascii():
            raise invalid
        try:
            decoded = self._signer.unseal(token.strip())
        except Forged:
            raise invalid from None
        stream_id, version = (
            (decoded.get("s"), decoded.get("v")) if isinstance(decoded, dict) else (None, None)
        )
        if not isinstance(stream_id, str) or type(version) is not int or version < 0:
            raise invalid
        return Written(stream_id, version)


def token_headers(tokens: TokenCodec, stream_id: str, version: int) -> dict[str, str]:
    """The header a command response carries for the write it made (or found, if it changed nothing)."""
    return {TOKEN_HEADER: tokens.issue(Written(stream_id, version))}


class NotCaughtUp(HttpProblem):
    def __init__(self) -> None:
        super().__init__(
            HTTPStatus.SERVICE_UNAVAILABLE,
            f"The read side has not caught up with your write within {WAIT_SECONDS:g} s; try again.",
            code="not-caught-up",
            headers={RETRY_AFTER: str(RETRY_AFTER_SECONDS)},
        )


def wait_until_applied(
    read: Read,
    field: str,
    version: int,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """``read(True)`` (strongly consistent) until its ``field`` is at least ``version``.

    A resource not there yet (``NotFound``) is waited for: the token proves it was written. One
    the caller may not see (``Hidden``) is answered at once, as without a token.
    """
    deadline = clock() + WAIT_SECONDS
    pauses = iter(BACKOFF)
    while True:
        try:
            current = read(True)
        except Hidden:
            raise
        except NotFound:
            current = None
        if current is not None and int(current[field]) >= version:
            return current
        remaining = deadline - clock()
        if remaining <= 0:
            raise NotCaughtUp
        sleep(min(next(pauses, BACKOFF[-1]), remaining))


def read_your_writes(
    event: APIGatewayProxyEventV2, tokens: Callable[[], TokenCodec], applied: Mapping[str, str], read: Read
) -> dict[str, Any]:
    """The representation ``read`` gives, once it reflects the write the request's token names.

    ``tokens`` gives the codec that reads the token (the service's ``consistency_tokens``), called
    only if the request has one: a read without a token never fetches the signing secret.

    ``applied`` maps each stream the resource is built from to the representation's field holding
    the version applied from it (a product: ``product-<id>`` -> ``version``, ``stock-<id>`` ->
    ``stockVersion``). ``read(consistent)`` reads the resource. Without a token: one ordinary read.
    """
    token = event.headers.get(TOKEN_HEADER.lower())
    if token is None:
        return read(False)
    written = tokens().read(token)
    field = applied.get(written.stream_id)
    if field is None:
        raise BadConsistencyToken(f"The {TOKEN_HEADER} names a write to another resource.")
    return wait_until_applied(read, field, written.version)
