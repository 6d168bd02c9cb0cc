"""Success responses: JSON bodies, entity tags, locations, consistency tokens."""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response

from shop.application import CommandResult
from shop.http.consistency import TokenCodec, token_headers
from shop.http.contract import ETAG, IDEMPOTENT_REPLAYED, LOCATION


def etag(*versions: int) -> str:
    return '"' + ".".join(str(v) for v in versions) + '"'


def json_response(
    body: Mapping[str, Any], status: HTTPStatus = HTTPStatus.OK, headers: Mapping[str, str] | None = None
) -> Response[str]:
    return Response(
        status_code=status.value,
        content_type="application/json",
        body=json.dumps(body, separators=(",", ":")),
        headers=dict(headers or {}),
    )


def command_response(
    result: CommandResult,
    id_field: str,
    *,
    tokens: TokenCodec,
    status: HTTPStatus = HTTPStatus.OK,
    location: str | None = None,
    version_field: str = "version",
    extra: Mapping[str, Any] | None = None,
) -> Response[str]:
    """``{<id_field>, <version_field>}`` with ``ETag: "<version>"``, ``X-Consistency-Token`` (the
    stream written and its version, signed by ``tokens``) and, when created, ``Location``;
    ``Idempotent-Replayed: true`` when an earlier run of the same keyed request did the work."""
    headers = {ETAG: etag(result.version), **token_headers(tokens, result.stream_id, result.version)}
    if result.replayed:
        headers[IDEMPOTENT_REPLAYED] = "true"
    if location:
        headers[LOCATION] = location
    body = {id_field: result.aggregate_id, version_field: result.version, **(extra or {})}
    return json_response(body, status, headers)
