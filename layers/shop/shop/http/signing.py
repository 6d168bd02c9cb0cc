"""The one signing secret (``SIGNING_SECRET_ID``): cursors and consistency tokens are signed with it.

Fetched from Secrets Manager at its first use, once per execution environment: a function that
never signs nor checks anything never asks for it.
"""

from __future__ import annotations

from pydantic import Field

from shop.runtime import Settings, cached, secret_string


class SigningSettings(Settings):
    secret_id: str = Field(alias="SIGNING_SECRET_ID", min_length=1)


@cached
def signing_secret() -> str:
    return secret_string(SigningSettings.from_env().secret_id)
