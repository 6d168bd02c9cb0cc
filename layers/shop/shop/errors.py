"""Errors the domain and application layers raise; ``shop.http.problems`` maps them to HTTP once.

Nothing here knows about HTTP: the names say what went wrong, not which status code it becomes.
"""

from __future__ import annotations

from dataclasses import dataclass


class ShopError(Exception):
    """Base of every error that is the caller's fault or a rule of the shop (never a bug)."""

    code = "shop-error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(ShopError):
    """The addressed aggregate or resource does not exist."""

    code = "not-found"


class Hidden(NotFound):
    """The resource exists, but not for this caller: answered exactly as ``NotFound`` (existence
    is not revealed), told apart only where waiting for it to appear would be pointless."""


class Forbidden(ShopError):
    """The caller may not do this, whatever the state (a customer changing the catalog, acting for
    another customer). Where existence itself must not be revealed, the answer is ``NotFound``."""

    code = "forbidden"


class RuleViolated(ShopError):
    """A business rule forbids the command in the aggregate's current state."""

    code = "rule-violated"


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str


class InvalidInput(ShopError):
    """The command is well-formed but its values break a validation rule."""

    code = "validation-failed"

    def __init__(self, errors: list[FieldError], detail: str = "The request body failed validation.") -> None:
        super().__init__(detail)
        self.errors = errors


class BadRequest(ShopError):
    """The request itself is malformed (query parameters, cursor, JSON)."""

    code = "bad-request"


class VersionMismatch(ShopError):
    """The caller stated an expected version (If-Match) that is not the aggregate's version."""

    code = "version-mismatch"

    def __init__(self, expected: int, actual: int | None = None) -> None:
        now = f"at version {actual}" if actual is not None else "changed concurrently"
        super().__init__(f"Expected version {expected}, but the resource is {now}.")
        self.expected = expected
        self.actual = actual


class ConcurrencyConflict(ShopError):
    """Concurrent writers kept winning the race; the command gave up after its retries."""

    code = "concurrency-conflict"


class UnreadableEvent(Exception):
    """A stored event this code cannot read: its type is unknown here, or its schema version is newer
    than the one this code knows (a newer deployment wrote it; this one is older, or rolled back).

    Never guessed at: reading a version as an older one could silently misread it. Not a
    ``ShopError`` either, since it is not the caller's fault: a command answers 503 (try again once
    the deployment has caught up), a stream record fails and is retried, then parked."""

    def __init__(self, type_name: str, schema_version: object, detail: str) -> None:
        super().__init__(f"{type_name} v{schema_version}: {detail}")
        self.type_name = type_name
        self.schema_version = schema_version


class DependencyUnavailable(Exception):
    """A service the code depends on (a table, a secret) did not answer after the SDK's retries: it
    was unreachable, timed out, throttled the request or failed on its side (a 5xx).

    Not the caller's fault and not a rule of the shop, so not a ``ShopError``: a command or query
    answers 503 with ``Retry-After`` (nothing is known to have been done; a retry is safe, and an
    ``Idempotency-Key`` makes it exactly once), a stream record fails and is delivered again. The
    adapters raise it (``shop.dependencies``); the SDK's error stays its ``__cause__``."""

    def __init__(self, dependency: str, reason: str) -> None:
        super().__init__(f"{dependency} is unavailable: {reason}")
        self.dependency = dependency
        self.reason = reason
