"""Conditional GETs (RFC 9110 section 13.1.2) and the caching headers of Query API answers.

A single resource answers with its ``ETag`` and ``Cache-Control: no-cache`` (``private, no-cache``
for a customer's cart or order): caches may keep it, but must ask again, and ``If-None-Match``
makes asking cheap: 304, no body. Listings may be reused for a few seconds (``*_LISTING``). The
values are the contract's (``shop.http.contract.cache_control``), which the OpenAPI documents state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from shop.http.contract import CACHE_CONTROL, ETAG, IF_NONE_MATCH, Kind, cache_control
from shop.http.responses import json_response

#: A shop's browse page: any cache may reuse it for 5 s (a product appears or changes that late).
PUBLIC_LISTING = cache_control(Kind.LISTING, public=True)
#: A customer's own listing: only their browser may keep it (it answers a request with a token).
PRIVATE_LISTING = cache_control(Kind.LISTING, public=False)
PUBLIC_RESOURCE = cache_control(Kind.RESOURCE, public=True)
PRIVATE_RESOURCE = cache_control(Kind.RESOURCE, public=False)

#: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE; etagc = %x21 / %x23-7E / obs-text (RFC 9110 8.8.3)
_ENTITY_TAG = re.compile(r'(?:W/)?"([\x21\x23-\x7e\x80-\xff]*)"')
_SEPARATOR = re.compile(r"[ \t]*,[ \t]*")


def entity_tags(field_value: str) -> list[str] | None:
    """The opaque tags of an ``If-None-Match`` list (``W/`` dropped: the comparison is weak), or
    None if the value is not a list of entity tags. ``*`` is ``["*"]``. Empty list elements are
    allowed, as RFC 9110 section 5.6.1 says a recipient must."""
    value = field_value.strip(" \t")
    if value == "*":
        return ["*"]
    tags: list[str] = []
    position = 0
    while position < len(value):
        separator = _SEPARATOR.match(value, position)
        if separator:
            position = separator.end()
            continue
        tag = _ENTITY_TAG.match(value, position)
        if not tag:
            return None
        tags.append(tag.group(1))
        position = tag.end()
        if position < len(value) and not _SEPARATOR.match(value, position):
            return None
    return tags


def none_match(field_value: str | None, current: str) -> bool:
    """Whether ``If-None-Match`` is false for the current ``ETag``, i.e. the answer is a 304.

    ``*`` matches any current representation; a list matches if one of its tags is weakly equal to
    the current one. A field that is not a list of entity tags is ignored (a full 200 answer).
    """
    if field_value is None:
        return False
    tags = entity_tags(field_value)
    if tags is None:
        return False
    opaque = current.removeprefix("W/")
    return tags == ["*"] or opaque.strip('"') in tags


def representation(
    event: APIGatewayProxyEventV2, body: Mapping[str, Any], etag: str, *, private: bool = False
) -> Response[str]:
    """200 with ``body``, or 304 without one if the request's ``If-None-Match`` matches ``etag``.

    Both carry ``ETag`` and ``Cache-Control``, as RFC 9110 section 15.4.5 asks of a 304.
    """
    headers = {ETAG: etag, CACHE_CONTROL: PRIVATE_RESOURCE if private else PUBLIC_RESOURCE}
    if none_match(event.headers.get(IF_NONE_MATCH.lower()), etag):
        return Response(status_code=HTTPStatus.NOT_MODIFIED.value, headers=headers, body="")
    return json_response(body, headers=headers)
