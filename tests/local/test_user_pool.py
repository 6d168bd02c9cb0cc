"""The template's user pool on the local endpoint behaves as its properties say, for a stranger too."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from joserfc import jwk, jwt
from moto.cognitoidp.models import cognitoidp_backends

from local.stack.inprocess import emulated_aws


def test_nobody_signs_up_when_only_admins_may_create_users(stack: Any) -> None:
    """``AdminCreateUserConfig: {AllowAdminCreateUserOnly: true}`` in template.yaml: in AWS, ``SignUp``
    through the app client fails with ``NotAuthorizedException`` ("SignUp is not permitted for this
    user pool"). moto ignores the setting: on ``make run`` anyone holding the app client id (printed
    in the ready message, and public in any browser client) signed up ``mallory``, confirmed her with
    any code (``ConfirmSignUp``, code 123456), signed in and created a cart (201) with her token."""
    directory = stack.users()
    assert directory is not None
    pool = directory.client.describe_user_pool(UserPoolId=directory.pool_id)["UserPool"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True

    with pytest.raises(ClientError) as refused:
        directory.client.sign_up(
            ClientId=directory.client_id,
            Username="mallory",
            Password="Shop-Demo-2026x!",
            UserAttributes=[{"Name": "email", "Value": "mallory@example.com"}],
        )
    assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"


def test_user_pools_parse_the_key_moto_bundles_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto gives every user pool the same bundled RSA key, and parsed it again for each pool: 0.14 s
    of CPU, half of what creating the whole template's resources costs, paid by every test that
    starts a stack. ``local.aws.moto_patches`` parses it once per process."""
    parsed: list[object] = []
    real = jwk.RSAKey.import_key
    monkeypatch.setattr(
        jwk.RSAKey, "import_key", lambda value, *a, **k: parsed.append(1) or real(value, *a, **k)
    )
    with emulated_aws():
        client = boto3.client("cognito-idp", region_name="us-east-1")
        ids = [client.create_user_pool(PoolName=f"pool-{n}")["UserPool"]["Id"] for n in range(3)]
        pools = [cognitoidp_backends["123456789012"]["us-east-1"].user_pools[i] for i in ids]
        assert len(parsed) <= 1, "the bundled key was parsed for each pool"
        token = jwt.encode({"alg": "RS256"}, {"sub": "alice"}, pools[0].json_web_key)
        for pool in pools:  # every pool signs with moto's one key, as before
            assert jwt.decode(token, pool.json_web_key).claims["sub"] == "alice"
