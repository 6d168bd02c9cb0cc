"""Cached, lazily built process-wide objects: settings, AWS clients, wired services.

Nothing is built at import time (cold start); everything on first use, once per execution
environment. ``reset()`` forgets them all, for tests that change the environment.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Self

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient

_caches: list[Callable[[], object]] = []


def cached[T](factory: Callable[[], T]) -> Callable[[], T]:
    """``functools.cache`` for zero-argument factories, registered for ``reset()``."""
    wrapped = cache(factory)
    _caches.append(wrapped.cache_clear)
    return wrapped


def reset() -> None:
    for clear in _caches:
        clear()


class Settings(BaseModel):
    """Base for a function's typed settings; fields alias their environment variable names."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    @classmethod
    def from_env(cls) -> Self:
        return cls.model_validate(dict(os.environ))


def _client_config() -> Config:
    from botocore.config import Config  # noqa: PLC0415 - imported on first use, not at cold start

    return Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=2, read_timeout=5)


@cached
def dynamodb() -> DynamoDBClient:
    import boto3  # noqa: PLC0415 - imported on first use, not at cold start of every module

    return boto3.client("dynamodb", config=_client_config())


@cached
def secretsmanager() -> SecretsManagerClient:
    import boto3  # noqa: PLC0415 - only the functions that read a secret pay for this client

    return boto3.client("secretsmanager", config=_client_config())


def secret_string(secret_id: str) -> str:
    """A Secrets Manager secret's current ``SecretString`` (``secret_id``: its ARN, or its name).

    One request per call: callers build what they need from it once, in a ``cached`` factory, so
    an execution environment fetches a secret at its first use and never at import.
    """
    value: str = secretsmanager().get_secret_value(SecretId=secret_id)["SecretString"]
    return value
