"""The HTTP contract both APIs share: the headers they read and write, and what each route answers.

The edge reads and writes headers by the names declared here, and the OpenAPI generator
(``shop.http.openapi``, which no function imports) documents them from the same declarations, so
the code and ``docs/openapi/`` cannot name different headers. Route functions state what they
answer on success with one of the decorators below (``command``, ``resource``, ``listing``); the
generator derives the rest of a route's contract (request headers, problem answers) from that
kind, the route's signature and ``template.yaml``.

Plain data only: importing this module costs a Lambda cold start nothing measurable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from http import HTTPStatus
from typing import Any, TypeVar

# ---------------------------------------------------------------- header names
AUTHORIZATION = "Authorization"
CORRELATION_ID = "X-Correlation-Id"
IDEMPOTENCY_KEY = "Idempotency-Key"
IF_MATCH = "If-Match"
IF_NONE_MATCH = "If-None-Match"
CONSISTENCY_TOKEN = "X-Consistency-Token"  # noqa: S105 - a header's name, not a secret

ETAG = "ETag"
LOCATION = "Location"
IDEMPOTENT_REPLAYED = "Idempotent-Replayed"
RETRY_AFTER = "Retry-After"
CACHE_CONTROL = "Cache-Control"
WWW_AUTHENTICATE = "WWW-Authenticate"
ALLOW = "Allow"


@dataclass(frozen=True)
class HeaderSpec:
    """A header as the documents describe it: its JSON schema and what it means."""

    name: str
    description: str
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "string"})


#: An entity tag of this shop: ``"<version>"`` or ``"<version>.<stockVersion>"``, weak or strong.
ENTITY_TAG = r'(?:W/)?"([0-9]{1,18})(?:\.([0-9]{1,18}))?"'
#: An ``Idempotency-Key``: 1-255 printable ASCII characters, not starting or ending with a space.
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?$"

#: Request headers, by the kind of route that reads them (``Authorization`` is a security scheme).
REQUEST_HEADERS: Mapping[str, HeaderSpec] = {
    spec.name: spec
    for spec in (
        HeaderSpec(
            CORRELATION_ID,
            "Correlates the request with the events it causes and the logs it writes, when it is "
            "1-128 of `A-Za-z0-9._:-`; any other value is ignored (the request id is used).",
        ),
        HeaderSpec(
            IDEMPOTENCY_KEY,
            "Makes a command safe to retry: a retry with the same key and body (by the same caller, "
            "to the same route, within 24 hours) answers the first response again, with "
            "`Idempotent-Replayed: true`, and changes nothing. The same key with another body is a "
            "422; while the first request is still in flight, a 409 with `Retry-After`.",
            {"type": "string", "minLength": 1, "maxLength": 255, "pattern": IDEMPOTENCY_KEY_PATTERN},
        ),
        HeaderSpec(
            IF_MATCH,
            'The version the command expects the aggregate to be at, as its entity tag (`"3"`; a '
            'product\'s own `"<version>.<stockVersion>"` is accepted too); 412 if it is at another. '
            "`*` or no header: no precondition.",
            {"type": "string", "pattern": f"^(?:{ENTITY_TAG}|\\*)$"},
        ),
        HeaderSpec(
            CONSISTENCY_TOKEN,
            "Read your own write: the `X-Consistency-Token` a command answered. The read waits "
            "(at most about 2 s) until the resource reflects that write, else answers 503 with "
            "`Retry-After`. A token for another resource, or a tampered one, is a 400.",
            {"type": "string", "minLength": 1, "maxLength": 512, "pattern": "^[A-Za-z0-9_.~-]+$"},
        ),
        HeaderSpec(
            IF_NONE_MATCH,
            "Entity tags the client holds (a list, or `*`): 304 without a body when the "
            "representation still has one of them (RFC 9110, section 13.1.2).",
        ),
    )
}

#: Response headers, by the answers that carry them.
RESPONSE_HEADERS: Mapping[str, HeaderSpec] = {
    spec.name: spec
    for spec in (
        HeaderSpec(
            ETAG,
            'The representation\'s entity tag: the version written or read, `"<version>"` '
            '(a product: `"<version>.<stockVersion>"`; stock commands: `"<stockVersion>"`).',
            {"type": "string", "pattern": f"^{ENTITY_TAG}$"},
        ),
        HeaderSpec(LOCATION, "Where the created (or, for a checkout, the coming) resource is read."),
        HeaderSpec(
            CONSISTENCY_TOKEN,
            "Opaque, URL-safe and tamper-evident: names the stream and version written. Send it as "
            "`X-Consistency-Token` to the resource's GET to read this write.",
            {"type": "string", "minLength": 1, "pattern": "^[A-Za-z0-9_.~-]+$"},
        ),
        HeaderSpec(
            IDEMPOTENT_REPLAYED,
            "`true` when the answer is the stored first answer to this `Idempotency-Key`.",
            {"type": "string", "enum": ["true"]},
        ),
        HeaderSpec(
            RETRY_AFTER,
            "Seconds to wait before trying again.",
            {"type": "string", "pattern": "^[0-9]+$"},
        ),
        HeaderSpec(
            CACHE_CONTROL,
            "Listings may be reused for 5 s: `public, max-age=5` (a customer's orders: `private, "
            "max-age=5`). Single resources must be revalidated (`If-None-Match`): `no-cache` (a cart "
            "or an order: `private, no-cache`). Only a public route's answer may sit in a shared cache. "
            "A problem is never kept: `no-store`.",
            {
                "type": "string",
                "enum": [
                    "public, max-age=5",
                    "private, max-age=5",
                    "no-cache",
                    "private, no-cache",
                    "no-store",
                ],
            },
        ),
        HeaderSpec(
            WWW_AUTHENTICATE,
            "API Gateway's challenge: `Bearer` without a token, else "
            '`Bearer error="invalid_token" error_description="..."`.',
            {"type": "string", "pattern": "^Bearer"},
        ),
        HeaderSpec(ALLOW, "The methods the path accepts."),
    )
}


# ---------------------------------------------------------------- what routes answer
class Kind(StrEnum):
    COMMAND = "command"  # Command API: changes one aggregate, answers its id and new version
    RESOURCE = "resource"  # Query API: one resource, with an entity tag
    LISTING = "listing"  # Query API: a page of resources, with nextCursor


@dataclass(frozen=True)
class Answer:
    """What a route answers on success. ``representation`` names a model of the service's
    ``representations`` module (beside its ``api`` module); ``location`` is the path template of
    the resource the ``Location`` header names, in the answer's own field names."""

    kind: Kind
    representation: str
    status: HTTPStatus = HTTPStatus.OK
    location: str | None = None


_ANSWER = "__shop_answer__"
F = TypeVar("F", bound=Callable[..., Any])


def _answers(answer: Answer) -> Callable[[F], F]:
    def mark(func: F) -> F:
        setattr(func, _ANSWER, answer)
        return func

    return mark


def command(
    representation: str, *, status: HTTPStatus = HTTPStatus.OK, location: str | None = None
) -> Callable[[F], F]:
    """A command route: ``ETag`` and ``X-Consistency-Token`` on success, ``Idempotency-Key`` read."""
    return _answers(Answer(Kind.COMMAND, representation, status, location))


def resource(representation: str) -> Callable[[F], F]:
    """A single-resource GET: ``ETag``, ``Cache-Control: no-cache``; conditional and consistent reads."""
    return _answers(Answer(Kind.RESOURCE, representation))


def listing(representation: str) -> Callable[[F], F]:
    """A page of a listing: ``{items, nextCursor}`` with ``Cache-Control: <public|private>, max-age=5``."""
    return _answers(Answer(Kind.LISTING, representation))


#: Seconds any cache may reuse a page of a listing (a product appears or changes that late).
LISTING_MAX_AGE = 5


def cache_control(kind: Kind, *, public: bool) -> str:
    """The ``Cache-Control`` of a Query API answer (``shop.http.conditional``): a listing's page may
    be reused for ``LISTING_MAX_AGE`` s, a single resource must be revalidated. Only a public route's
    answer may be kept by a shared cache; a customer's cart, order or orders (an authorized route)
    only by their browser, or a shared cache would hand them to the next customer."""
    if kind is Kind.LISTING:
        return f"{'public' if public else 'private'}, max-age={LISTING_MAX_AGE}"
    return "no-cache" if public else "private, no-cache"


#: The ``Cache-Control`` of every problem answer: no cache keeps an error (a CDN keeps a 404 for
#: seconds by default, which would hide a product created just after the miss).
PROBLEM_CACHE_CONTROL = "no-store"


def answer_of(func: Callable[..., Any]) -> Answer | None:
    answer = getattr(func, _ANSWER, None)
    return answer if isinstance(answer, Answer) else None
