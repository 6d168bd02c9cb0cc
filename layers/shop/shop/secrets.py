"""Secrets Manager, for the adapters that need a secret (the signing key of cursors and consistency
tokens): the process's client and one read. Like ``shop.ddb``, only wiring reaches it; services never
do."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from pydantic import Field

from shop.dependencies import Translating, client_config
from shop.runtime import Settings, cached

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


@cached
def client() -> SecretsManagerClient:
    """Its calls keep to ``shop.dependencies``' budget and raise ``DependencyUnavailable`` when
    Secrets Manager does not answer."""
    import boto3  # noqa: PLC0415 - only the functions that read a secret pay for this client

    client = boto3.client("secretsmanager", config=client_config())
    return cast("SecretsManagerClient", Translating(client, "Secrets Manager"))


def secret_string(secret_id: str) -> str:
    """A Secrets Manager secret's current ``SecretString`` (``secret_id``: its ARN, or its name).

    One request per call: callers build what they need from it once, in a ``cached`` factory, so
    an execution environment fetches a secret at its first use and never at import.
    """
    value: str = client().get_secret_value(SecretId=secret_id)["SecretString"]
    return value


class SigningSettings(Settings):
    secret_id: str = Field(alias="SIGNING_SECRET_ID", min_length=1)


@cached
def signing_secret() -> str:
    """The one signing secret (``SIGNING_SECRET_ID``): cursors and consistency tokens are signed with
    it. Fetched at its first use, once per execution environment: a function that never signs nor
    checks anything never asks for it."""
    return secret_string(SigningSettings.from_env().secret_id)
