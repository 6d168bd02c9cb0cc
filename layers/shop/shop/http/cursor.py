"""Opaque, URL-safe, tamper-evident pagination cursors.

A cursor is ``base64url(json(position)) "." base64url(hmac-sha256(secret, payload)[:16])``. The
position is the read table's ``LastEvaluatedKey`` plus the query it belongs to; a cursor that was
altered, truncated, signed with another secret, or used with another query is a 400.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from shop.errors import BadRequest
from shop.http.contract import CACHE_CONTROL
from shop.http.responses import json_response
from shop.http.signing import Forged, Signer
from shop.views import Page

#: Query parameters every paginated listing takes.
Limit = Annotated[int, Query(ge=1, le=100, description="Page size")]
Cursor = Annotated[str | None, Query(max_length=2048, description="nextCursor of the previous page")]


class CursorCodec:
    def __init__(self, secret: str) -> None:
        self._signer = Signer(secret)

    def encode(self, position: Mapping[str, Any], query: Mapping[str, Any]) -> str:
        payload = json.dumps({"k": position, "q": query}, separators=(",", ":"), sort_keys=True).encode()
        return self._signer.seal(payload)

    def decode(self, cursor: str, query: Mapping[str, Any]) -> dict[str, Any]:
        """The position a cursor holds, if it is genuine and was issued for ``query``."""
        invalid = BadRequest("The cursor is invalid; start again without one.")
        try:
            decoded = self._signer.unseal(cursor)
        except Forged:
            raise invalid from None
        if (
            not isinstance(decoded, dict)
            or not isinstance(decoded.get("k"), dict)
            or decoded.get("q") != query
        ):
            raise invalid
        position: dict[str, Any] = decoded["k"]
        return position


def page_response(
    codec: CursorCodec,
    query: Mapping[str, Any],
    cursor: str | None,
    fetch: Callable[[dict[str, Any] | None], Page],
    *,
    cache_control: str,
) -> Response[str]:
    """``{items, nextCursor}`` for one page of a listing; the cursor is bound to ``query``."""
    page = fetch(codec.decode(cursor, query) if cursor else None)
    next_cursor = codec.encode(page.next_position, query) if page.next_position else None
    return json_response(
        {"items": page.items, "nextCursor": next_cursor}, headers={CACHE_CONTROL: cache_control}
    )
