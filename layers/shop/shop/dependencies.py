"""The AWS services the code depends on: how long one call may take, and its failures as
``DependencyUnavailable``.

**Budget of one call** (every client of ``shop.ddb`` and ``shop.secrets``): ``ATTEMPTS`` attempts
(the first and one retry, botocore's *standard* retry mode), each allowed ``CONNECT_TIMEOUT``
seconds to connect and ``READ_TIMEOUT`` seconds to wait for the answer, with standard mode's pause
before each retry (at most ``random() x 2^(n-1)`` s before the n-th: 1 s here). The worst case is

    WORST_CALL_SECONDS = ATTEMPTS x (CONNECT_TIMEOUT + READ_TIMEOUT) + MAX_BACKOFF
                       = 2 x (1 s + 1.5 s) + 1 s = 6 s

well inside the HTTP functions' 10 s timeout (``Globals.Function.Timeout``): the call that fails
ends its request (nothing retries it in the function), so a table that does not answer becomes a
503 with 4 s to spare, never a Lambda timeout (which API Gateway turns into a bare 5xx). DynamoDB
answers in milliseconds; 1.5 s without an answer already means it is not going to. Stream
consumers share the budget: their timeout is 30 s and they start no record with less than 6 s
left (``shop.streams.TIME_RESERVE_MS``); their retries are the event source mapping's, which
delivers a failed record again. ``tests/unit/test_dependencies.py`` checks the arithmetic against
the clients and the template.

**Failures.** ``unavailable`` tells which SDK errors mean "the dependency did not answer": no
connection, a timeout, a closed connection, a throttled request (``ThrottlingException``,
``ProvisionedThroughputExceededException``, ``RequestLimitExceeded``) or a failure on the
service's side (``InternalServerError``, ``ServiceUnavailable``, any 5xx). ``Translating`` wraps a
client so that its API calls raise ``DependencyUnavailable`` for those (the SDK's error as its
cause) and everything else (a failed condition, a validation error) as before.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from shop.errors import DependencyUnavailable

if TYPE_CHECKING:
    from botocore.config import Config

#: Attempts of one call: the first and one retry.
ATTEMPTS: Final = 2
#: Seconds to open a connection.
CONNECT_TIMEOUT: Final = 1.0
#: Seconds to wait for (each part of) the answer.
READ_TIMEOUT: Final = 1.5
#: Standard retry mode's longest pauses: ``random() x 2^(n-1)`` seconds before the n-th retry.
MAX_BACKOFF: Final = sum(2 ** (retry - 1) for retry in range(1, ATTEMPTS))
#: The longest one call can take before it raises.
WORST_CALL_SECONDS: Final = ATTEMPTS * (CONNECT_TIMEOUT + READ_TIMEOUT) + MAX_BACKOFF

#: Error codes of a service that did not do the request and may do it later.
UNAVAILABLE_CODES: Final = frozenset(
    {
        "InternalServerError",
        "InternalFailure",
        "InternalServiceError",  # Secrets Manager's
        "ServiceUnavailable",
        "ThrottlingException",
        "Throttling",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
    }
)


def client_config() -> Config:
    """The botocore configuration of every client: the budget above."""
    from botocore.config import Config  # noqa: PLC0415 - only where a client is built

    return Config(
        retries={"total_max_attempts": ATTEMPTS, "mode": "standard"},
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
    )


def unavailable(error: BaseException) -> bool:
    """Whether an SDK error means the service did not answer (see the module docstring)."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError  # noqa: A004, PLC0415

    if isinstance(error, ConnectionError | HTTPClientError):  # no connection, timeouts, cut answers
        return True
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return code in UNAVAILABLE_CODES or status >= 500
    return False


def reason_of(error: BaseException) -> str:
    """A short name for what failed: the service's error code, else the SDK error's type."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
    return type(error).__name__


class Translating:
    """A boto3 client whose API calls raise ``DependencyUnavailable`` when ``unavailable`` says so.

    ``service`` names the dependency (with the call's ``TableName`` or ``SecretId`` when it has one)
    in the error, for the logs; clients never see it."""

    def __init__(self, client: Any, service: str) -> None:
        self._client = client
        self._service = service
        self._operations = frozenset(client.meta.method_to_api_mapping)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name not in self._operations:
            return attribute
        return self._translated(attribute)

    def _translated(self, call: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(call)
        def translated(*args: Any, **kwargs: Any) -> Any:
            try:
                return call(*args, **kwargs)
            except Exception as error:
                if not unavailable(error):
                    raise
                target = kwargs.get("TableName") or kwargs.get("SecretId")
                dependency = f"{self._service} {target}" if target else self._service
                raise DependencyUnavailable(dependency, reason_of(error)) from error

        return translated
