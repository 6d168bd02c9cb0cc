"""``Idempotency-Key`` on commands: a retry with the same key is answered with the first answer.

A command function wraps its resolver with ``answer`` (``http_handler(..., idempotent=True)``).
Without the header nothing here runs and nothing is stored: no table call, no import of Powertools
Idempotency. With it, Powertools Idempotency (``DynamoDBPersistenceLayer`` on the table
``IDEMPOTENCY_TABLE`` names) keeps the first successful answer for ``EXPIRES_AFTER_SECONDS``:

* the key means "this caller's key on this route": the record is keyed by a digest of the method,
  the path, the caller's ``sub`` and the key (``scope``), so two callers, or one caller on two
  routes, never share a record;
* same key, same body (compared as JSON): the stored answer, every header included, with
  ``Idempotent-Replayed: true``; nothing is appended;
* same key, another body: 422; the first request still running: 409 with ``Retry-After``; the
  table not answering before the command ran: 503 (``DependencyUnavailable``);
* a key that is not 1-255 printable ASCII characters (no space at either end): 400;
* a 4xx or 5xx answer is not stored (the record is deleted), so a retry runs the command again.

A command whose function died after appending (a timeout) leaves its record in progress; once
Lambda's deadline for it has passed, Powertools lets a retry run the command again. That run does
not append twice: the commit the first run wrote carries the same ``scope`` digest
(``CommandContext.request_key``), and the application answers from it (``run_command``), within
the key's lifetime. docs/idempotency.md tells the whole story, costs included.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from pydantic import Field

from shop.application import REQUEST_KEY_LIFETIME
from shop.dependencies import client_config, reason_of
from shop.errors import DependencyUnavailable, FieldError, Forbidden
from shop.http.contract import IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED, RETRY_AFTER
from shop.http.identity import caller
from shop.http.problems import HttpProblem
from shop.runtime import Settings, cached

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

HEADER = "idempotency-key"
REPLAYED_HEADER = IDEMPOTENT_REPLAYED
#: How long an answer is kept for its key (and a key stays taken): 24 hours, the key's lifetime.
EXPIRES_AFTER_SECONDS = int(REQUEST_KEY_LIFETIME.total_seconds())
#: What a 409 for a request still in progress tells the client to wait, in seconds.
RETRY_AFTER_SECONDS = 1
#: Prefix of every record id: ``command#<sha256>``.
KEY_PREFIX = "command"
#: Printable ASCII (space to tilde), 1-255 characters, no space first or last (HTTP trims those).
_KEY = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?")

ProxyResponse = dict[str, Any]


class IdempotencySettings(Settings):
    table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=3)


def key_of(headers: Mapping[str, str]) -> str | None:
    """The request's ``Idempotency-Key``, None without one; 400 for one that is not a valid key."""
    value = next((v for name, v in headers.items() if name.lower() == HEADER), None)
    if value is None:
        return None
    if not _KEY.fullmatch(value):
        raise HttpProblem(
            HTTPStatus.BAD_REQUEST,
            "Idempotency-Key must be 1 to 255 printable ASCII characters, with no space at either end.",
            code="bad-idempotency-key",
        )
    return value


def scope(method: str, path: str, subject: str, key: str) -> str:
    """What a key stands for: this caller's key on this route (128 bits of SHA-256, hex)."""
    text = json.dumps([method.upper(), path, subject, key], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def request_key(event: APIGatewayProxyEventV2, subject: str) -> str | None:
    """``scope`` of the request's key for ``subject`` (the verified caller), None without a key."""
    key = key_of(event.headers)
    if key is None:
        return None
    return scope(event.request_context.http.method, event.raw_path, subject, key)


def body_of(event: Mapping[str, Any]) -> Any:
    """The body as the fingerprint compares it: parsed JSON (spacing and key order do not matter),
    else the text as sent."""
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")


class NotKept(Exception):
    """A 4xx or 5xx answer: Powertools deletes the record when the function raises, so a retry
    runs the command again instead of replaying a refusal."""

    def __init__(self, response: ProxyResponse) -> None:
        super().__init__(response.get("statusCode"))
        self.response = response


def answer(event: dict[str, Any], context: Any, resolve: Callable[[], ProxyResponse]) -> ProxyResponse:
    """``resolve()`` the request at most once per key; raises ``HttpProblem`` for 400, 409, 422 and
    ``DependencyUnavailable`` when the idempotency table does not answer before the command ran."""
    request = APIGatewayProxyEventV2(event)
    key = key_of(request.headers)
    if key is None:
        return resolve()
    try:
        subject = caller(request).sub
    except Forbidden:
        return resolve()  # nobody verified: the command itself refuses (403), and a refusal is not kept
    digest = scope(request.request_context.http.method, request.raw_path, subject, key)
    return _once(digest, body_of(event), context, resolve)


def _once(digest: str, body: Any, context: Any, resolve: Callable[[], ProxyResponse]) -> ProxyResponse:
    from aws_lambda_powertools.utilities.idempotency.exceptions import (  # noqa: PLC0415 - keyed requests only
        IdempotencyAlreadyInProgressError,
        IdempotencyInconsistentStateError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    config, execute = _idempotent_command()
    config.register_lambda_context(context)  # a record in progress expires with this invocation
    answered: list[ProxyResponse] = []

    def run() -> ProxyResponse:
        response = resolve()
        answered.append(response)
        if int(response.get("statusCode", 500)) >= HTTPStatus.BAD_REQUEST:
            raise NotKept(response)
        return response

    try:
        response: ProxyResponse = execute(request={"scope": digest, "body": body}, run=run)
    except NotKept as refused:
        return refused.response
    except IdempotencyValidationError:
        raise HttpProblem(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "This Idempotency-Key was used with another request body; use a new key for a new request.",
            code="idempotency-key-reused",
            errors=[FieldError(IDEMPOTENCY_KEY, "was used with another request body")],
        ) from None
    except (IdempotencyAlreadyInProgressError, IdempotencyInconsistentStateError):
        raise HttpProblem(
            HTTPStatus.CONFLICT,
            "A request with this Idempotency-Key is still in progress; retry it shortly.",
            code="idempotency-key-in-progress",
            headers={RETRY_AFTER: str(RETRY_AFTER_SECONDS)},
        ) from None
    except IdempotencyPersistenceLayerError as error:
        return _unrecorded(answered, error)
    return response


def _unrecorded(answered: list[ProxyResponse], error: Exception) -> ProxyResponse:
    """The idempotency table failed. Before the command ran: ``DependencyUnavailable`` (the 503 every
    dependency that does not answer gets), nothing was done. After it ran (its record could not be
    completed or deleted): its own answer, which is the truth; a retry meets the record in progress
    (409) until this invocation's deadline, then runs again and is answered from the commit it finds
    (``run_command``)."""
    from aws_lambda_powertools import Logger  # noqa: PLC0415 - only on this failure

    Logger(child=True).warning("idempotency record not kept", exc_info=error)
    if answered:
        return answered[-1]
    cause = error.__cause__ or error
    raise DependencyUnavailable("the idempotency table", reason_of(cause)) from error


def replayed(response: ProxyResponse, idempotent_data: DataRecord) -> ProxyResponse:
    """Powertools' response hook: a stored answer goes out as it was, marked as a replay."""
    del idempotent_data
    return {**response, "headers": {**(response.get("headers") or {}), REPLAYED_HEADER: "true"}}


@cached
def _idempotent_command() -> tuple[Any, Callable[..., ProxyResponse]]:
    """The Powertools configuration and the idempotent runner, built at the first keyed request."""
    from aws_lambda_powertools.utilities.idempotency import (  # noqa: PLC0415 - keyed requests only
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    config = IdempotencyConfig(
        event_key_jmespath="scope",
        payload_validation_jmespath="body",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=EXPIRES_AFTER_SECONDS,
        hash_function="sha256",
        response_hook=replayed,
    )
    # Powertools makes its own client (boto3 stays out of the edge's imports, as the import
    # contracts require); it honours AWS_ENDPOINT_URL like every other client here.
    # Its calls keep to the budget of every other client (shop.dependencies).
    persistence = _resend_tolerant(DynamoDBPersistenceLayer)(
        table_name=IdempotencySettings.from_env().table, boto_config=client_config()
    )

    execute = idempotent_function(
        _execute,
        data_keyword_argument="request",
        config=config,
        persistence_store=persistence,
        key_prefix=KEY_PREFIX,
    )
    return config, cast("Callable[..., ProxyResponse]", execute)


def _resend_tolerant(layer: type[Any]) -> type[Any]:
    """Powertools' DynamoDB layer, but a record put that meets *its own* record is not a conflict.

    The conditional ``PutItem`` of the in-progress record can be written while its answer is lost (a
    read timeout: ``shop.dependencies``); botocore then sends the same request again, and that one's
    condition fails on the record the first wrote. Powertools would call it another request in
    progress: the only request with its key answered 409, and its retries too until the record's
    in-progress expiry. The record found is this invocation's own when it is in progress with the
    same in-progress expiry (milliseconds of this invocation's deadline), expiry and payload hash as
    the one being put: then the put succeeded."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import (  # noqa: PLC0415 - keyed requests only
        IdempotencyItemAlreadyExistsError,
        IdempotencyItemNotFoundError,
    )
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import (  # noqa: PLC0415
        STATUS_CONSTANTS,
    )

    class ResendTolerant(layer):  # type: ignore[misc]
        def _put_record(self, data_record: DataRecord) -> None:
            try:
                super()._put_record(data_record)
            except IdempotencyItemAlreadyExistsError as exists:
                found = exists.old_data_record
                if found is None:
                    try:
                        found = self._get_record(data_record.idempotency_key)
                    except IdempotencyItemNotFoundError:
                        raise exists from None
                if not _same_put(found, data_record, STATUS_CONSTANTS["INPROGRESS"]):
                    raise

    return ResendTolerant


def _same_put(found: DataRecord, putting: DataRecord, in_progress: str) -> bool:
    return (
        found.status == in_progress == putting.status
        and putting.in_progress_expiry_timestamp is not None
        and found.in_progress_expiry_timestamp == putting.in_progress_expiry_timestamp
        and found.expiry_timestamp == putting.expiry_timestamp
        and found.payload_hash == putting.payload_hash
    )


def _execute(*, request: Mapping[str, Any], run: Callable[[], ProxyResponse]) -> ProxyResponse:
    del request  # what Powertools hashes; the command itself reads the event
    return run()
