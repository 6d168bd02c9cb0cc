"""Success responses: JSON bodies, entity tags, locations, consistency tokens."""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response

from shop.application import CommandResult
from shop.http.consistency import token_headers


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
    status: HTTPStatus = HTTPStatus.OK,
    location: str | None = None,
    version_field: str = "version",
    extra: Mapping[str, Any] | None = None,
) -> Response[str]:
    """``{<id_field>, <version_field>}`` with ``ETag: "<version>"``, ``X-Consistency-Token`` (the
    stream written and its version) and, when created, ``Location``."""
    headers = {"ETag": etag(result.version), **token_headers(result.stream_id, result.version)}
    if location:
        headers["Location"] = location
    body = {id_field: result.aggregate_id, version_field: result.version, **(extra or {})}
    return json_response(body, status, headers)
